// A node that requires pairing even on loopback (--require-pairing), so the browser here is treated like a
// LAN tablet: it sees the pairing screen, pairs as admin with the console's code, pairs a till tablet with
// a code from the admin screen (QR link), and the till's role is enforced. Then the node restarts: the
// tablet stays paired, and the demo cards continue from their files (tag state, signing counter).
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { expect, type Page, test } from '@playwright/test'
import { type DemoNode, startDemoNode } from './nodes.ts'

let node: DemoNode
test.beforeAll(async () => {
  node = await startDemoNode({ args: ['--require-pairing'] })
})
test.afterAll(async () => {
  await node?.stop()
  if (node) rmSync(node.dataDir, { recursive: true, force: true })
})

async function shot(page: Page, name: string) {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true })
}

async function tap(page: Page, label: string) {
  await page.getByRole('button', { name: `Poser ${label}` }).click()
  await expect(page.getByTestId('card-label')).toHaveText(label)
}

/** Calls the API from the page itself (its cookie goes with the WebSocket handshake). */
async function callFromPage(page: Page, method: string): Promise<{ ok: boolean; error?: { name: string } }> {
  return page.evaluate(async (m) => {
    const ws = new WebSocket(`ws://${location.host}/api`)
    await new Promise((r) => ws.addEventListener('open', r))
    const res = new Promise<string>((r) => ws.addEventListener('message', (e) => r(String(e.data))))
    ws.send(JSON.stringify({ id: 1, method: m, params: {} }))
    const out = JSON.parse(await res)
    ws.close()
    return out
  }, method)
}

const alexCounter = () =>
  (JSON.parse(readFileSync(join(node.dataDir, 'cards', 'alex.json'), 'utf8')) as { counter: number }).counter

test('pairing: console code for the admin, QR code for a till tablet, roles enforced, kept across a restart', async ({
  browser,
}) => {
  const consoleCode = /Pairing code \(admin[^)]*\): ([A-Z2-9]{4}-[A-Z2-9]{4})/.exec(node.output())?.[1]
  expect(consoleCode).toBeTruthy()

  // An unpaired browser sees only the pairing screen and gets a typed error from the API.
  const adminContext = await browser.newContext()
  const admin = await adminContext.newPage()
  await admin.goto(`${node.url}#/admin`)
  await expect(admin.getByRole('heading', { name: 'Associer ce navigateur' })).toBeVisible()
  await expect(admin.getByRole('link', { name: 'Administration' })).toHaveCount(0)
  expect(await callFromPage(admin, 'state.get')).toMatchObject({
    ok: false,
    error: { name: 'NotPairedError' },
  })
  await admin.getByTestId('pair-input').fill('AAAA-AAAA')
  await admin.getByTestId('pair-submit').click()
  await expect(admin.getByTestId('pair-error')).toHaveText('Code inconnu, expiré ou déjà utilisé')
  await shot(admin, '10-pairing-screen')
  await admin.getByTestId('pair-input').fill(consoleCode!.toLowerCase())
  await admin.getByTestId('pair-submit').click()
  await expect(admin.getByRole('link', { name: 'Administration' })).toBeVisible()

  // The admin makes a till code; the tablet (its own cookie jar) opens the QR code's link.
  await admin.getByTestId('admin-tab-devices').click()
  await admin.getByTestId('pair-role').selectOption('till')
  await admin.getByTestId('pair-offer').click()
  await expect(admin.getByTestId('pair-qr').locator('svg')).toBeVisible()
  const tillCode = (await admin.getByTestId('pair-code').textContent())!
  await shot(admin, '11-admin-pairing-code')
  const tabletContext = await browser.newContext({ viewport: { width: 1024, height: 768 } })
  const tablet = await tabletContext.newPage()
  await tablet.goto(`${node.url}?pair=${tillCode}#/till`)
  await expect(tablet.getByTestId('client-role')).toHaveText('Rôle de ce navigateur : Caisse')
  await expect(tablet.getByRole('navigation').getByRole('link')).toHaveCount(1)
  expect(await callFromPage(tablet, 'admin.report')).toMatchObject({
    ok: false,
    error: { name: 'RoleNotAllowedError' },
  })
  // A code pairs once.
  const thief = await (await browser.newContext()).newPage()
  await thief.goto(`${node.url}?pair=${tillCode}#/till`)
  await expect(thief.getByTestId('pair-error')).toBeVisible()

  // The staff card opens the session; Lou's tag card gets a top-up; only the staff card closes.
  await tap(tablet, 'Camille (équipe)')
  await tablet.getByTestId('open-session').click()
  await expect(tablet.getByText('Caissier·e : Camille (équipe)')).toBeVisible()
  await tap(tablet, 'Lou')
  await tablet.getByTestId('topup-amount').fill('5')
  await tablet.getByTestId('topup').click()
  await expect(tablet.getByTestId('balance-EUR')).toContainText('15,00')
  await expect(tablet.getByTestId('tag-state')).toContainText('n° 2')
  await tap(tablet, 'Alex')
  const counterBefore = alexCounter()
  expect(counterBefore).toBeGreaterThan(0)
  await tablet.getByTestId('topup-amount').fill('1')
  await tablet.getByTestId('topup').click()
  await expect(tablet.getByTestId('balance-EUR')).toContainText('21,00')
  expect(alexCounter()).toBe(counterBefore + 1)
  await tablet.getByTestId('close-session').click()
  await expect(tablet.getByRole('alert')).toHaveText(
    'Posez la carte équipe qui a ouvert la session pour la fermer',
  )
  await shot(tablet, '12-till-close-needs-staff-card')
  await tap(tablet, 'Camille (équipe)')
  await tablet.getByTestId('close-session').click()
  await expect(tablet.getByTestId('open-session')).toBeVisible()

  // Restart the node on the same folder: the tablet is still a till; the cards carry on.
  await node.stop()
  node = await startDemoNode({ dataDir: node.dataDir, args: ['--require-pairing'] })
  await tablet.goto(`${node.url}#/till`)
  await expect(tablet.getByTestId('client-role')).toHaveText('Rôle de ce navigateur : Caisse')
  await tap(tablet, 'Lou')
  await expect(tablet.getByTestId('tag-state')).toHaveText('État signé sur la carte : n° 2')
  await expect(tablet.getByTestId('balance-EUR')).toContainText('15,00')
  await tap(tablet, 'Camille (équipe)')
  await tablet.getByTestId('open-session').click()
  await tap(tablet, 'Alex')
  await expect(tablet.getByTestId('balance-EUR')).toContainText('21,00')
  await tablet.getByTestId('topup-amount').fill('1')
  await tablet.getByTestId('topup').click()
  await expect(tablet.getByTestId('balance-EUR')).toContainText('22,00')
  expect(alexCounter()).toBe(counterBefore + 2)
  await shot(tablet, '13-after-restart')
  await adminContext.close()
  await tabletContext.close()
})
