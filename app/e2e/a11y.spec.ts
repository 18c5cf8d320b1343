// Accessibility of every screen, in French and English: axe-core (injected from node_modules, nothing
// fetched elsewhere) on the till (session closed, product grid, cart, payment result), the door, each
// admin tab and the member portal; no violation of impact serious or critical may remain, and nothing may
// be wider than the portrait bar tablet (800x1280). Plus a keyboard-only sale on the till (Tab, Enter,
// Space, arrow keys; no pointer) and a card tap that must not move the product grid.
import { rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { expect, type Page, test } from '@playwright/test'
import { type DemoNode, startDemoNode } from './nodes.ts'

const axePath = createRequire(import.meta.url).resolve('axe-core')

let node: DemoNode
test.beforeAll(async () => {
  node = await startDemoNode()
})
test.afterAll(async () => {
  await node?.stop()
  if (node) rmSync(node.dataDir, { recursive: true, force: true })
})

interface Violation {
  id: string
  impact: string | null
  help: string
  nodes: { target: unknown[]; failureSummary?: string }[]
}

/** Runs axe on the whole page; lists each serious/critical violation by rule id and target. */
async function seriousViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: axePath })
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (c: unknown, o: unknown) => Promise<unknown> } }).axe
    // target-size (WCAG 2.2 AA, 24 px) is off by default in axe: a bar tablet is touched, so check it.
    const options = { resultTypes: ['violations'], rules: { 'target-size': { enabled: true } } }
    const r = (await axe.run(document, options)) as { violations: Violation[] }
    return r.violations
  })
  if (process.env.LAKOU_A11Y_LOG)
    for (const v of violations)
      console.log(v.impact, v.id, v.nodes.map((n) => JSON.stringify(n.target)).join(' '))
  const blocking = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
  return blocking.flatMap((v) =>
    v.nodes.map(
      (n) => `${v.impact} ${v.id} (${v.help}) at ${JSON.stringify(n.target)}: ${n.failureSummary ?? ''}`,
    ),
  )
}

async function expectAccessible(page: Page, screen: string): Promise<void> {
  expect(await seriousViolations(page), `axe on ${screen}`).toEqual([])
  // Responsive: nothing wider than the portrait tablet (no sideways scrolling at the bar).
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
  expect(overflow, `horizontal overflow on ${screen}`).toBeLessThanOrEqual(0)
}

async function openPage(browser: import('@playwright/test').Browser, lang: 'fr' | 'en', hash: string) {
  const page = await browser.newPage({ viewport: { width: 800, height: 1280 } })
  await page.addInitScript((l) => localStorage.setItem('lakou.lang', l), lang)
  await page.goto(`${node.url}#/${hash}`)
  await expect(page.getByTestId('online-badge')).toBeVisible()
  return page
}

const text = {
  fr: { tap: 'Poser', staff: 'Camille (équipe)', show: 'Afficher' },
  en: { tap: 'Tap', staff: 'Camille (équipe)', show: 'Show' },
}

async function tap(page: Page, lang: 'fr' | 'en', label: string) {
  await page.getByRole('button', { name: `${text[lang].tap} ${label}` }).click()
  await expect(page.getByTestId('card-label')).toHaveText(label)
}

test('the check sees what it must refuse: a nameless button and unreadable text', async ({ browser }) => {
  const page = await openPage(browser, 'fr', 'till')
  await page.evaluate(() => {
    const b = document.createElement('button')
    b.dataset.probe = 'nameless'
    const p = document.createElement('p')
    p.textContent = 'pâle'
    p.style.color = '#ddd'
    document.querySelector('main')!.append(b, p)
  })
  const found = (await seriousViolations(page)).join('\n')
  expect(found).toContain('button-name')
  expect(found).toContain('color-contrast')
  await page.close()
})

for (const lang of ['fr', 'en'] as const) {
  test(`till screens have no serious accessibility violation (${lang})`, async ({ browser }) => {
    const page = await openPage(browser, lang, 'till')
    await expect(page.getByTestId('open-session')).toBeVisible()
    await expectAccessible(page, `${lang} till, session closed`)

    await tap(page, lang, text[lang].staff)
    await page.getByTestId('open-session').click()
    await expect(page.getByTestId('product-beer')).toBeVisible()
    await expectAccessible(page, `${lang} till, product grid`)

    await page.getByTestId('product-beer').click()
    await page.getByRole('tab', { name: 'Cuisine' }).click()
    await page.getByTestId('product-fries').click()
    // A card on the reader must not move the products under the cashier's finger.
    const gridTop = async () => (await page.getByTestId('product-fries').boundingBox())!.y
    const before = await gridTop()
    await tap(page, lang, 'Alex')
    expect(await gridTop()).toBe(before)
    await expect(page.getByTestId('cart-total')).not.toHaveText(/^0/)
    await expectAccessible(page, `${lang} till, cart and member card`)

    await page.getByTestId('pay-card').click()
    await expect(page.getByTestId('sale-result')).toBeVisible()
    await expectAccessible(page, `${lang} till, payment result`)

    // Close the session with the staff card, so the other language starts from a closed till.
    await tap(page, lang, text[lang].staff)
    await page.getByTestId('close-session').click()
    await expect(page.getByTestId('open-session')).toBeVisible()
    await page.close()
  })

  test(`door, admin and portal have no serious accessibility violation (${lang})`, async ({ browser }) => {
    const door = await openPage(browser, lang, 'door')
    await tap(door, lang, 'Alex')
    await door.getByTestId('door-check-card').click()
    await expect(door.getByTestId('door-verdict')).toBeVisible()
    await expectAccessible(door, `${lang} door with a verdict`)
    await door.close()

    const admin = await openPage(browser, lang, 'admin')
    for (const tab of [
      'reports',
      'closeOut',
      'catalog',
      'assets',
      'plans',
      'events',
      'devices',
      'federation',
    ]) {
      await admin.getByTestId(`admin-tab-${tab}`).click()
      await expect(admin.getByTestId(`admin-tab-${tab}`)).toHaveAttribute('aria-selected', 'true')
      await expectAccessible(admin, `${lang} admin ${tab}`)
    }
    await admin.close()

    const portal = await openPage(browser, lang, 'portal')
    await expectAccessible(portal, `${lang} portal, empty`)
    const cardId = await portal.evaluate(async () => {
      const ws = new WebSocket(`ws://${location.host}/api`)
      await new Promise((r) => ws.addEventListener('open', r))
      const res = new Promise<string>((r) => ws.addEventListener('message', (e) => r(String(e.data))))
      ws.send(JSON.stringify({ id: 1, method: 'state.get', params: {} }))
      const snap = JSON.parse(await res).result as {
        node: { readerCards: { cardId: string; label: string }[] }
      }
      ws.close()
      return snap.node.readerCards.find((c) => c.label === 'Alex')!.cardId
    })
    await portal.getByTestId('portal-card').fill(cardId)
    await portal.getByRole('button', { name: text[lang].show }).click()
    await expect(portal.getByTestId('portal-balance-EUR')).toBeVisible()
    await expectAccessible(portal, `${lang} portal with a statement`)
    await portal.close()
  })
}

/** Presses Tab until the focused element matches, failing after `max` presses (keyboard-only reach). */
async function tabTo(page: Page, selector: string, withText = '', key = 'Tab', max = 80): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(key)
    const reached = await page.evaluate(
      ([s, t]) => {
        const el = document.activeElement
        return !!el?.matches(s!) && (el.textContent ?? '').includes(t!)
      },
      [selector, withText],
    )
    if (reached) return
  }
  throw new Error(`${selector} ${withText} not reachable with ${max} Tab presses`)
}

test('a sale on the till with the keyboard only', async ({ browser }) => {
  const page = await openPage(browser, 'fr', 'till')
  await tabTo(page, 'button[aria-pressed]', 'Poser Camille (équipe)')
  await page.keyboard.press('Enter')
  await expect(page.getByTestId('card-label')).toHaveText('Camille (équipe)')
  await tabTo(page, '[data-testid="open-session"]')
  await page.keyboard.press('Enter')
  // The open-session button is gone; the focus moves to the first product instead of the page top.
  await expect(page.getByTestId('product-beer')).toBeFocused()
  // Focus stays visible: the focused control draws an outline.
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)
  expect(outline).not.toBe('none')
  await page.keyboard.press('Enter')
  await page.keyboard.press('Space')
  await expect(page.getByTestId('cart-total')).toContainText('7,00')
  // Categories are tabs: one Tab stop, the arrow keys move between them.
  await tabTo(page, '[role="tab"][aria-selected="true"]', 'Bar', 'Shift+Tab')
  await page.keyboard.press('ArrowRight')
  await expect(page.getByRole('tab', { name: 'Cuisine' })).toBeFocused()
  await expect(page.getByRole('tab', { name: 'Cuisine' })).toHaveAttribute('aria-selected', 'true')
  await tabTo(page, '[data-testid="product-fries"]')
  await page.keyboard.press('Enter')
  await expect(page.getByTestId('cart-total')).toContainText('11,00')
  await tabTo(page, '[data-testid="cash-given"]')
  await page.keyboard.type('20')
  await tabTo(page, '[data-testid="pay-cash"]')
  await page.keyboard.press('Enter')
  await expect(page.getByTestId('change')).toContainText('9,00')
  await page.close()
})
