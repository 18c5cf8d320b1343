// A full evening on the demo venue: enroll a till, open it with a staff card, sell with card taps,
// cut the network, keep selling, reconnect, and find every sale on the admin screen.
import { expect, type Page, test } from '@playwright/test'
import { type DemoNode, startDemoNode } from './nodes.ts'

let node: DemoNode
test.beforeAll(async () => {
  node = await startDemoNode()
})
test.afterAll(async () => {
  await node?.stop()
})

async function shot(page: Page, name: string) {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true })
}

async function tap(page: Page, label: string) {
  await page.getByRole('button', { name: `Poser ${label}` }).click()
  await expect(page.getByTestId('card-label')).toHaveText(label)
}

test('a full evening at the bar', async ({ page }) => {
  await page.goto(`${node.url}#/admin`)
  await page.getByTestId('admin-tab-devices').click()
  await page.getByTestId('enroll-name').fill('Caisse terrasse')
  await page.getByTestId('enroll').click()
  await expect(page.getByTestId('enroll-qr').locator('svg')).toBeVisible()
  await expect(page.getByTestId('enroll-code')).toContainText('role=till')
  await shot(page, '01-enroll-till')

  // Open the till with the staff card.
  await page.goto(`${node.url}#/till`)
  await tap(page, 'Camille (équipe)')
  await page.getByTestId('open-session').click()
  await expect(page.getByText('Caissier·e : Camille (équipe)')).toBeVisible()

  // Alex (20 € topped up by the demo seed, and a member) pays two beers and fries by card tap.
  await tap(page, 'Alex')
  await expect(page.getByTestId('membership')).toContainText('Adhésion valide')
  await expect(page.getByTestId('balance-EUR')).toContainText('20,00')
  await page.getByTestId('product-beer').click()
  await page.getByTestId('product-beer').click()
  await page.getByRole('tab', { name: 'Cuisine' }).click()
  await page.getByTestId('product-fries').click()
  await expect(page.getByTestId('cart-total')).toContainText('11,00')
  await page.getByTestId('pay-card').click()
  await expect(page.getByTestId('after-EUR')).toContainText('9,00')
  await expect(page.getByTestId('kitchen')).toContainText('kitchen')
  await expect(page.getByTestId('balance-EUR')).toContainText('9,00')
  await shot(page, '02-card-sale')

  // The network goes down: the till keeps selling.
  await page.getByTestId('toggle-network').click()
  await expect(page.getByTestId('online-badge')).toHaveText('Hors ligne')
  // Sam holds 5 €: a 9,50 € burger takes it all, the rest goes on Lou's card.
  await tap(page, 'Sam')
  await page.getByRole('tab', { name: 'Cuisine' }).click()
  await page.getByTestId('product-burger').click()
  await page.getByTestId('pay-card').click()
  await expect(page.getByTestId('remainder')).toContainText('4,50')
  await tap(page, 'Lou')
  await page.getByTestId('pay-card').click()
  await expect(page.getByTestId('after-EUR')).toContainText('5,50')
  await expect(page.getByTestId('remainder')).toHaveCount(0)
  // A cash sale with a deposit cup returned in the same sale.
  await page.getByRole('tab', { name: 'Bar' }).click()
  await page.getByTestId('product-wine').click()
  await page.getByRole('tab', { name: 'Consignes' }).click()
  await page.getByTestId('return-cup').click()
  await expect(page.getByTestId('cart-total')).toContainText('3,00')
  await page.getByTestId('cash-given').fill('5')
  await page.getByTestId('pay-cash').click()
  await expect(page.getByTestId('change')).toContainText('2,00')
  await shot(page, '03-offline-sales')

  // Back online; the admin screen shows the evening's sales.
  await page.getByTestId('toggle-network').click()
  await expect(page.getByTestId('online-badge')).toHaveText('En ligne')
  await page.goto(`${node.url}#/admin`)
  // Seed: membership 10 € + ticket 8 €; tonight: 11 € + 9,50 € + 3 € (the split line is not a sale).
  await expect(page.getByTestId('sales-total')).toContainText('41,50')
  await expect(page.getByTestId('sales-total')).toContainText('5 ventes')
  await expect(page.getByRole('img', { name: 'Ventes par produit' })).toContainText('Burger veggie')
  await shot(page, '04-admin-report')

  // Close-out of the till with counted cash.
  await page.getByTestId('admin-tab-closeOut').click()
  await page.getByTestId('counted-cash').fill('50')
  await page.getByTestId('close-out').click()
  await expect(page.getByTestId('z-report')).toBeVisible()
  await shot(page, '05-close-out')
})

test('the door admits a ticket once and says why it refuses', async ({ page }) => {
  await page.goto(`${node.url}#/door`)
  await tap(page, 'Alex')
  await page.getByTestId('door-check-card').click()
  await expect(page.getByTestId('door-verdict')).toContainText('Entrée autorisée')
  await page.getByTestId('door-check-card').click()
  await expect(page.getByTestId('door-reason')).toHaveText('Billet déjà utilisé')
  await page.getByTestId('door-code').fill('T-UNKNOWN')
  await page.getByRole('button', { name: 'Vérifier', exact: true }).click()
  await expect(page.getByTestId('door-reason')).toHaveText('Billet inconnu')
  await shot(page, '06-door')
})

test('the member portal shows balances and works in English', async ({ page }) => {
  await page.goto(`${node.url}#/till`)
  await page.getByLabel('Langue').selectOption('en')
  await expect(page.getByRole('link', { name: 'Member area' })).toBeVisible()
  await page.getByRole('link', { name: 'Member area' }).click()
  const snapshot = await page.evaluate(async () => {
    const ws = new WebSocket(`ws://${location.host}/api`)
    await new Promise((r) => ws.addEventListener('open', r))
    const res = new Promise<string>((r) => ws.addEventListener('message', (e) => r(String(e.data))))
    ws.send(JSON.stringify({ id: 1, method: 'state.get', params: {} }))
    return JSON.parse(await res).result as { node: { readerCards: { cardId: string; label: string }[] } }
  })
  const alex = snapshot.node.readerCards.find((c) => c.label === 'Alex')!
  await page.getByTestId('portal-card').fill(alex.cardId)
  await page.getByRole('button', { name: 'Show' }).click()
  await expect(page.getByTestId('portal-balance-EUR')).toBeVisible()
  await expect(page.getByText('Adhésion annuelle')).toBeVisible()
  await shot(page, '07-portal-en')
})
