// A full evening at the demo venue with two tills as separate OS processes syncing over libp2p:
// enroll a till, open it with a staff card, sell with card taps, cut its network, keep selling,
// reconnect, and find every sale on the admin screen of the other node.
import { rmSync } from 'node:fs'
import { expect, type Page, test } from '@playwright/test'
import { type DemoNode, startDemoNode } from './nodes.ts'

let bar: DemoNode
let terrace: DemoNode
test.beforeAll(async () => {
  bar = await startDemoNode()
})
test.afterAll(async () => {
  await terrace?.stop()
  await bar?.stop()
  if (bar) rmSync(bar.dataDir, { recursive: true, force: true })
})

async function shot(page: Page, name: string) {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true })
}

async function tap(page: Page, label: string) {
  await page.getByRole('button', { name: `Poser ${label}` }).click()
  await expect(page.getByTestId('card-label')).toHaveText(label)
}

async function openTill(page: Page) {
  await tap(page, 'Camille (équipe)')
  await page.getByTestId('open-session').click()
  await expect(page.getByText('Caissier·e : Camille (équipe)')).toBeVisible()
}

test('a full evening: two tills, a network cut, every sale on the admin screen', async ({ browser }) => {
  const admin = await browser.newPage()
  const till = await browser.newPage()

  // The admin enrolls a till by QR code.
  await admin.goto(`${bar.url}#/admin`)
  await admin.getByTestId('admin-tab-devices').click()
  await admin.getByTestId('enroll-name').fill('Caisse terrasse')
  await admin.getByTestId('enroll').click()
  await expect(admin.getByTestId('enroll-qr').locator('svg')).toBeVisible()
  await shot(admin, '01-enroll-till')
  // The new till is a separate process with its own key: it redeems the code shown as the QR code.
  const code = (await admin.getByTestId('enroll-code').textContent())!
  expect(code).toContain('/enroll?token=')
  terrace = await startDemoNode({ join: bar, args: ['--enroll', code] })
  await admin.getByTestId('admin-tab-reports').click()
  // The seed: a membership (10 €) and a ticket (8 €) sold at the bar.
  await expect(admin.getByTestId('sales-total')).toContainText('18,00')

  // The terrace till, online: it already holds the bar's records.
  await till.goto(`${terrace.url}#/till`)
  await expect(till.getByTestId('online-badge')).toHaveText('En ligne', { timeout: 20_000 })
  await openTill(till)
  await tap(till, 'Alex')
  await expect(till.getByTestId('membership')).toContainText('Adhésion valide')
  await expect(till.getByTestId('balance-EUR')).toContainText('20,00')
  await till.getByTestId('product-beer').click()
  await till.getByTestId('product-beer').click()
  await till.getByRole('tab', { name: 'Cuisine' }).click()
  await till.getByTestId('product-fries').click()
  await expect(till.getByTestId('cart-total')).toContainText('11,00')
  await till.getByTestId('pay-card').click()
  await expect(till.getByTestId('after-EUR')).toContainText('9,00')
  await expect(till.getByTestId('kitchen')).toContainText('kitchen')
  await expect(till.getByTestId('balance-EUR')).toContainText('9,00')
  await shot(till, '02-card-sale')
  await expect(admin.getByTestId('sales-total')).toContainText('29,00', { timeout: 20_000 })

  // The terrace loses the network and keeps selling.
  await till.getByTestId('toggle-network').click()
  await expect(till.getByTestId('online-badge')).toHaveText('Hors ligne')
  // Sam holds 5 €: a 9,50 € burger takes it all, the rest goes on Lou's card.
  await tap(till, 'Sam')
  await till.getByRole('tab', { name: 'Cuisine' }).click()
  await till.getByTestId('product-burger').click()
  await till.getByTestId('pay-card').click()
  await expect(till.getByTestId('remainder')).toContainText('4,50')
  await tap(till, 'Lou')
  await till.getByTestId('pay-card').click()
  await expect(till.getByTestId('after-EUR')).toContainText('5,50')
  await expect(till.getByTestId('remainder')).toHaveCount(0)
  // A cash sale with a deposit cup returned in the same sale.
  await till.getByRole('tab', { name: 'Bar' }).click()
  await till.getByTestId('product-wine').click()
  await till.getByRole('tab', { name: 'Consignes' }).click()
  await till.getByTestId('return-cup').click()
  await expect(till.getByTestId('cart-total')).toContainText('3,00')
  await till.getByTestId('cash-given').fill('5')
  await till.getByTestId('pay-cash').click()
  await expect(till.getByTestId('change')).toContainText('2,00')
  await shot(till, '03-offline-sales')
  // The bar has not seen them.
  await admin.reload()
  await expect(admin.getByTestId('sales-total')).toContainText('29,00')

  // Back online: the admin screen at the bar shows the whole evening.
  await till.getByTestId('toggle-network').click()
  await expect(till.getByTestId('online-badge')).toHaveText('En ligne', { timeout: 20_000 })
  // 18 € seed + 11 € + 9,50 € + 3 € (the split payment's second half is not a sale).
  await expect(admin.getByTestId('sales-total')).toContainText('41,50', { timeout: 30_000 })
  await expect(admin.getByTestId('sales-total')).toContainText('5 ventes')
  await expect(admin.getByRole('img', { name: 'Ventes par produit' })).toContainText('Burger veggie')
  await expect(admin.getByRole('img', { name: 'Ventes par caisse' })).toContainText('Caisse terrasse')
  await shot(admin, '04-admin-report')

  // Close-out of the whole venue with counted cash.
  await admin.getByTestId('admin-tab-closeOut').click()
  await admin.getByTestId('counted-cash').fill('50')
  await admin.getByRole('combobox', { name: 'Portée' }).selectOption('venue')
  await admin.getByTestId('close-out').click()
  await expect(admin.getByTestId('z-report')).toBeVisible()
  await shot(admin, '05-close-out')
})

test('two doors let the same ticket in while cut off; sync reveals the double entry', async ({ browser }) => {
  const door1 = await browser.newPage()
  const door2 = await browser.newPage()
  await door1.goto(`${bar.url}#/door`)
  await door2.goto(`${terrace.url}#/door`)
  await expect(door2.getByTestId('online-badge')).toHaveText('En ligne', { timeout: 20_000 })
  await door2.getByTestId('toggle-network').click()
  await expect(door2.getByTestId('online-badge')).toHaveText('Hors ligne')
  for (const door of [door1, door2]) {
    await tap(door, 'Alex')
    await door.getByTestId('door-check-card').click()
    await expect(door.getByTestId('door-verdict')).toContainText('Entrée autorisée')
  }
  await door1.getByTestId('door-check-card').click()
  await expect(door1.getByTestId('door-reason')).toHaveText('Billet déjà utilisé')
  await door1.getByTestId('door-code').fill('T-UNKNOWN')
  await door1.getByRole('button', { name: 'Vérifier', exact: true }).click()
  await expect(door1.getByTestId('door-reason')).toHaveText('Billet inconnu')
  await door2.getByTestId('toggle-network').click()
  await expect(door1.getByTestId('double-entries')).toBeVisible({ timeout: 30_000 })
  await shot(door1, '06-door-double-entry')
})

test('the member portal shows balances and history, in English too', async ({ page }) => {
  await page.goto(`${bar.url}#/till`)
  await page.getByLabel('Langue').selectOption('en')
  await page.getByRole('link', { name: 'Member area' }).click()
  const cards = await page.evaluate(async () => {
    const ws = new WebSocket(`ws://${location.host}/api`)
    await new Promise((r) => ws.addEventListener('open', r))
    const res = new Promise<string>((r) => ws.addEventListener('message', (e) => r(String(e.data))))
    ws.send(JSON.stringify({ id: 1, method: 'state.get', params: {} }))
    return (JSON.parse(await res).result as { node: { readerCards: { cardId: string; label: string }[] } })
      .node.readerCards
  })
  await page.getByTestId('portal-card').fill(cards.find((c) => c.label === 'Alex')!.cardId)
  await page.getByRole('button', { name: 'Show' }).click()
  await expect(page.getByTestId('portal-balance-EUR')).toBeVisible()
  await expect(page.getByText('Adhésion annuelle')).toBeVisible()
  await expect(page.getByRole('img', { name: /QR code of ticket T-/ }).locator('svg')).toBeVisible()
  await shot(page, '07-portal-en')
})

test('the member portal works offline from the service worker and the cached statement', async ({
  browser,
}) => {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(`${bar.url}#/portal`)
  await page.evaluate(() => navigator.serviceWorker.ready)
  await page.reload() // now controlled by the service worker, which caches the shell
  await expect(page.getByTestId('online-badge')).toBeVisible()
  await page.getByTestId('portal-card').fill(await cardId(page, 'Alex'))
  await page.getByRole('button', { name: 'Afficher' }).click()
  await expect(page.getByTestId('portal-balance-EUR')).toBeVisible()
  const balance = await page.getByTestId('portal-balance-EUR').textContent()
  await context.setOffline(true)
  await page.reload()
  await expect(page.getByText('Hors ligne : données en cache')).toBeVisible({ timeout: 15_000 })
  await expect(page.getByTestId('portal-balance-EUR')).toHaveText(balance!)
  await shot(page, '08-portal-offline')
  await context.close()
})

test('the till fits a portrait bar tablet and works with the keyboard', async ({ browser }) => {
  const page = await browser.newPage({ viewport: { width: 800, height: 1280 } })
  await page.goto(`${bar.url}#/till`) // the terrace till's session is still open from the evening
  await tap(page, 'Camille (équipe)')
  await page.getByTestId('open-session').focus()
  await page.keyboard.press('Enter')
  await expect(page.getByText('Caissier·e : Camille (équipe)')).toBeVisible()
  await page.getByTestId('product-coffee').focus()
  await page.keyboard.press('Enter')
  await expect(page.getByTestId('cart-total')).toContainText('1,50')
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
  expect(overflow).toBeLessThanOrEqual(0)
  await shot(page, '09-tablet-portrait')

  // Top up Noa's tag card in cash, pay the coffee with it, then void that sale: the card is made whole.
  await tap(page, 'Noa')
  await page.getByTestId('topup-amount').fill('10')
  await page.getByTestId('topup').click()
  await expect(page.getByTestId('balance-EUR')).toContainText('10,00')
  await expect(page.getByTestId('tag-state')).toContainText('n° 1')
  await page.getByTestId('pay-card').click()
  await expect(page.getByTestId('after-EUR')).toContainText('8,50')
  await page.getByTestId('void-last').click()
  await expect(page.getByText('Vente annulée')).toBeVisible()
  await expect(page.getByTestId('balance-EUR')).toContainText('10,00')
  await expect(page.getByTestId('tag-state')).toContainText('n° 3')
})

async function cardId(page: Page, label: string): Promise<string> {
  return page.evaluate(async (name) => {
    const ws = new WebSocket(`ws://${location.host}/api`)
    await new Promise((r) => ws.addEventListener('open', r))
    const res = new Promise<string>((r) => ws.addEventListener('message', (e) => r(String(e.data))))
    ws.send(JSON.stringify({ id: 1, method: 'state.get', params: {} }))
    const cards = (
      JSON.parse(await res).result as { node: { readerCards: { cardId: string; label: string }[] } }
    ).node.readerCards
    ws.close()
    return cards.find((c) => c.label === name)!.cardId
  }, label)
}
