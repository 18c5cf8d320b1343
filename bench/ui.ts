// `npm run bench -- ui [--json out.json] [--loads 5] [--clicks 50] [--taps 40] [--payments 10] [--cpu 4]`
// The till in Debian's chromium (headless, through Playwright) at a bar tablet's portrait size (800x1280),
// its CPU throttled 4x through CDP (Emulation.setCPUThrottlingRate) to stand for a modest tablet, against a
// demo node (`lakou demo`, its own OS process, as in app/e2e). Figures, each beside a baseline of the same
// run: cold load to an interactive product grid (baseline: the same load unthrottled, and a blank page
// through the same node and browser), a product click to the cart's new total on screen (baseline: a bare
// button on the same page that only changes its own text: the browser's input-to-frame floor) and a card
// tap on the simulated reader to its balance on screen (baseline: the WebSocket API round trip of the tap
// without UI), p50/p99, and the same unthrottled, a card payment to the new balance on screen, and the
// JS+CSS a till downloads at load (gzip; baseline: the bytes the node sends today, uncompressed).
// Times are measured inside the page (input timeStamp to the first frame after the DOM changed; clicks are
// bare CDP mouse events at the element centre, no Playwright actionability script in the timed span). The
// machine has 2 shared cores: figures are noisy, compare the ratios.
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { type Browser, chromium, type Page } from '@playwright/test'
import { startDemoNode } from '../app/e2e/nodes.ts'
import { DIST_APP, ensureAppBuilt } from '../app/server/build-app.ts'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../scripts/chromium.ts'
import { type Bench, type BenchRow, numberArg } from './harness.ts'
import { apiCall, apiRoundTrips, installProbes, pageScript, type Until } from './ui/probes.ts'

const TABLET = { width: 800, height: 1280 }
const GRID = '[data-testid^="product-"]'

const percentile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]! : Number.NaN
}
const round1 = (n: number) => Math.round(n * 10) / 10
const summary = (xs: number[]) => ({
  p50: round1(percentile(xs, 0.5)),
  p99: round1(percentile(xs, 0.99)),
  n: xs.length,
})

/** A fresh context (no cache, no service worker) and page with the probes and the CPU throttle set. */
async function newTillPage(browser: Browser, cpuRate: number) {
  const context = await browser.newContext({ viewport: TABLET })
  const page = await context.newPage()
  await page.addInitScript({ content: pageScript(installProbes, GRID) })
  const cdp = await context.newCDPSession(page)
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: cpuRate })
  return { page, close: () => context.close() }
}

/** Awaits a promise the probes left on window, failing (not hanging) when the UI never gets there. */
async function awaitProbe(page: Page, name: string): Promise<number> {
  const timeout = `new Promise((_, reject) => setTimeout(() => reject(new Error('${name}: timed out')), 20000))`
  try {
    return (await page.evaluate(`Promise.race([window.${name}, ${timeout}])`)) as number
  } catch (e) {
    const main = await page
      .locator('main')
      .textContent()
      .catch(() => '')
    throw new Error(`${(e as Error).message}; the page shows:\n${(main ?? '').slice(0, 2000)}`)
  }
}

const log = (line: string) => console.error(`bench ui: ${line}`)

async function call(page: Page, method: string, params: unknown = {}): Promise<unknown> {
  return page.evaluate(pageScript(apiCall, { method, params }))
}

/** ms from navigation start to the first frame with the product grid; then checks a click reaches the cart. */
async function loadToInteractive(browser: Browser, url: string, cpuRate: number): Promise<number> {
  const { page, close } = await newTillPage(browser, cpuRate)
  try {
    await page.goto(`${url}#/till`, { waitUntil: 'commit' })
    const shownAt = await awaitProbe(page, '__lakouGridShown')
    await page.locator(GRID).first().click()
    await page.waitForFunction(
      () => !document.querySelector('[data-testid="cart-total"]')?.textContent?.startsWith('0'),
    )
    return shownAt
  } finally {
    await close()
  }
}

/** ms from navigation start to the load event of a tiny page the node serves (HTTP + browser floor). */
async function blankLoad(browser: Browser, url: string, cpuRate: number): Promise<number> {
  const { page, close } = await newTillPage(browser, cpuRate)
  try {
    await page.goto(new URL('/healthz', url).href, { waitUntil: 'load' })
    return (await page.evaluate(
      () => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).loadEventEnd,
    )) as number
  } finally {
    await close()
  }
}

/** Clicks `target` and returns ms from its pointerdown to the first frame where `until` holds. */
async function timedClick(page: Page, target: string, until: Until): Promise<number> {
  // Find the spot first, then a bare mouse click (CDP Input events): Playwright's actionability
  // scripts would otherwise run in the throttled page while the click is being timed.
  const locator = page.locator(target)
  await locator.scrollIntoViewIfNeeded()
  const box = await locator.boundingBox()
  if (!box) throw new Error(`${target} is not on screen`)
  await page.evaluate(`window.__lakouArm(${JSON.stringify(until)})`)
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2)
  return awaitProbe(page, '__lakouArmed')
}

interface Interaction {
  clickToCart: number[]
  clickFloor: number[]
  tapToBalance: number[]
  tapApiRoundTrip: number[]
  payToBalance: number[]
}

async function interactions(
  browser: Browser,
  url: string,
  cpuRate: number,
  n: { clicks: number; taps: number; payments: number },
  cards: { cardId: string; label: string }[],
): Promise<Interaction> {
  const { page, close } = await newTillPage(browser, cpuRate)
  try {
    await page.goto(`${url}#/till`)
    await awaitProbe(page, '__lakouGridShown')
    const products = await page
      .locator(GRID)
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')!))
    // Floor: a bare button on the same page whose handler only changes its own text (the browser's
    // input-to-frame cost, which no app change removes). Its clicks alternate with the product clicks, so
    // both series meet the same machine load.
    await page.evaluate(() => {
      const probe = document.createElement('button')
      probe.id = 'lakou-click-floor'
      probe.textContent = '0'
      probe.style.cssText = 'position:fixed;top:0;left:0;z-index:9999'
      probe.onclick = () => (probe.textContent = String(Number(probe.textContent) + 1))
      document.body.append(probe)
    })
    log(`${cpuRate}x CPU: product clicks`)
    const clickToCart: number[] = []
    const clickFloor: number[] = []
    for (let i = 0; i < n.clicks; i++) {
      // A round of up to 10 drinks, then a new cart (the clear is not timed).
      if (i % 10 === 0) await page.getByTestId('cart-clear').click()
      const product = products[i % products.length]!
      clickToCart.push(
        await timedClick(page, `[data-testid="${product}"]`, { selector: '[data-testid="cart-total"]' }),
      )
      clickFloor.push(await timedClick(page, '#lakou-click-floor', { selector: '#lakou-click-floor' }))
    }
    await page.getByTestId('cart-clear').click()
    await page.evaluate(() => document.getElementById('lakou-click-floor')?.remove())

    // Taps on the till's buttons (two cards) alternate with API taps from the same page (two other cards,
    // so that every UI tap changes the card shown).
    log(`${cpuRate}x CPU: card taps`)
    const [uiCards, apiCards] = [cards.slice(0, 2), cards.slice(2, 4)]
    const tapToBalance: number[] = []
    const tapApiRoundTrip: number[] = []
    for (let i = 0; i < n.taps; i++) {
      const card = uiCards[i % uiCards.length]!
      const until = {
        selector: '[data-testid="card-label"]',
        text: card.label,
        alsoPresent: '[data-testid="balance-EUR"]',
      }
      tapToBalance.push(await timedClick(page, `button[aria-pressed]:text-is("Poser ${card.label}")`, until))
      const other = apiCards[i % apiCards.length]!
      const [rtt] = (await page.evaluate(
        pageScript(apiRoundTrips, { method: 'sim.tap', params: [{ cardId: other.cardId }] }),
      )) as number[]
      tapApiRoundTrip.push(rtt!)
      await page.getByTestId('card-label').filter({ hasText: other.label }).waitFor()
    }

    log(`${cpuRate}x CPU: card payments`)
    // Card payments of one coffee by the first card (topped up first, so it never runs dry).
    const payer = cards[0]!
    await page.getByRole('button', { name: `Poser ${payer.label}`, exact: true }).click()
    await page.getByTestId('card-label').filter({ hasText: payer.label }).waitFor()
    // Top up through the till, as a cashier would: enough for the coffees (1,50 €) paid below.
    const before = await page.getByTestId('balance-EUR').textContent()
    await page.getByTestId('topup-amount').fill(String(Math.ceil(1.5 * n.payments) + 1))
    await page.getByTestId('topup').click()
    await page.waitForFunction(
      (b) => document.querySelector('[data-testid="balance-EUR"]')?.textContent !== b,
      before,
    )
    const payToBalance: number[] = []
    for (let i = 0; i < n.payments; i++) {
      await page.getByTestId('product-coffee').click()
      payToBalance.push(
        await timedClick(page, '[data-testid="pay-card"]', { selector: '[data-testid="sale-result"]' }),
      )
    }
    return { clickToCart, clickFloor, tapToBalance, tapApiRoundTrip, payToBalance }
  } catch (e) {
    const shown = await page
      .locator('main')
      .textContent()
      .catch(() => '')
    throw new Error(`${(e as Error).message}\nthe page shows:\n${(shown ?? '').slice(0, 6000)}`)
  } finally {
    await close()
  }
}

/** The JS and CSS that index.html loads at start (lazy chunks such as the QR decoder are not counted). */
function shippedAtLoad(): { raw: number; gzip: number; files: string[] } {
  const html = readFileSync(join(DIST_APP, 'index.html'), 'utf8')
  const files = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]!)
  let raw = 0
  let gzip = 0
  for (const f of files) {
    const bytes = readFileSync(join(DIST_APP, f))
    raw += bytes.length
    gzip += gzipSync(bytes, { level: 9 }).length
  }
  return { raw, gzip, files }
}

export const run: Bench = async ({ args }) => {
  const loads = numberArg(args, '--loads', 5)
  const n = {
    clicks: numberArg(args, '--clicks', 50),
    taps: numberArg(args, '--taps', 40),
    payments: numberArg(args, '--payments', 10),
  }
  const cpu = numberArg(args, '--cpu', 4)
  ensureAppBuilt()
  const node = await startDemoNode()
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
  try {
    // Open a till session with the staff card, as a cashier would (unthrottled, not measured).
    const setup = await newTillPage(browser, 1)
    await setup.page.goto(`${node.url}#/till`)
    const state = (await call(setup.page, 'state.get')) as {
      node: { readerCards: { cardId: string; label: string; kind?: string }[] }
    }
    const staff = state.node.readerCards.find((c) => c.label.includes('(équipe)'))!
    await setup.page.getByRole('button', { name: `Poser ${staff.label}` }).click()
    await setup.page.getByTestId('open-session').click()
    await setup.page.locator(GRID).first().waitFor()
    await setup.close()
    // Alex and Sam are tapped on the till's buttons, Lou and Noa by the API baseline; Alex pays.
    const members = ['Alex', 'Sam', 'Lou', 'Noa'].map(
      (l) => state.node.readerCards.find((c) => c.label === l)!,
    )

    log('till session open; loads')
    // Warm-up (JIT, node caches), then each mode; loads alternate so drift hits both alike.
    await loadToInteractive(browser, node.url, 1)
    const interactive = { throttled: [] as number[], plain: [] as number[], blank: [] as number[] }
    for (let i = 0; i < loads; i++) {
      interactive.throttled.push(await loadToInteractive(browser, node.url, cpu))
      interactive.plain.push(await loadToInteractive(browser, node.url, 1))
      interactive.blank.push(await blankLoad(browser, node.url, cpu))
    }
    const throttled = await interactions(browser, node.url, cpu, n, members)
    const plain = await interactions(browser, node.url, 1, n, members)
    const bytes = shippedAtLoad()

    const json = {
      cpuThrottle: cpu,
      viewport: TABLET,
      interactiveMs: { throttled: summary(interactive.throttled), unthrottled: summary(interactive.plain) },
      blankPageLoadMs: summary(interactive.blank),
      clickToCartMs: { throttled: summary(throttled.clickToCart), unthrottled: summary(plain.clickToCart) },
      clickFloorMs: { throttled: summary(throttled.clickFloor), unthrottled: summary(plain.clickFloor) },
      tapToBalanceMs: {
        throttled: summary(throttled.tapToBalance),
        unthrottled: summary(plain.tapToBalance),
      },
      tapApiRoundTripMs: {
        throttled: summary(throttled.tapApiRoundTrip),
        unthrottled: summary(plain.tapApiRoundTrip),
      },
      payToBalanceMs: {
        throttled: summary(throttled.payToBalance),
        unthrottled: summary(plain.payToBalance),
      },
      shippedAtLoad: bytes,
      samplesMs: { throttled, unthrottled: plain },
      note: 'in-page times (input timeStamp to the first frame after the DOM change); 2 shared cores: noisy',
    }
    const row = (metric: string, value: number, base: BenchRow['baseline'], target?: number): BenchRow => ({
      metric,
      value,
      unit: 'ms',
      baseline: base,
      ...(target === undefined ? {} : { target: `<= ${target} ms`, ok: value <= target }),
    })
    const j = json
    const rows: BenchRow[] = [
      row(
        `till interactive, cold load, ${cpu}x CPU p50`,
        j.interactiveMs.throttled.p50,
        { name: 'same, 1x CPU', value: j.interactiveMs.unthrottled.p50 },
        2000,
      ),
      row(
        `till interactive, cold load, ${cpu}x CPU p99`,
        j.interactiveMs.throttled.p99,
        { name: `blank page, ${cpu}x CPU`, value: j.blankPageLoadMs.p99 },
        2000,
      ),
      row(
        `product click -> cart shown, ${cpu}x CPU p50`,
        j.clickToCartMs.throttled.p50,
        { name: `bare click, ${cpu}x CPU`, value: j.clickFloorMs.throttled.p50 },
        100,
      ),
      row(
        `product click -> cart shown, ${cpu}x CPU p99`,
        j.clickToCartMs.throttled.p99,
        { name: `bare click, ${cpu}x CPU`, value: j.clickFloorMs.throttled.p99 },
        100,
      ),
      row('product click -> cart shown, 1x CPU p50', j.clickToCartMs.unthrottled.p50, {
        name: 'bare click, 1x CPU',
        value: j.clickFloorMs.unthrottled.p50,
      }),
      row(
        `card tap -> balance shown, ${cpu}x CPU p50`,
        j.tapToBalanceMs.throttled.p50,
        { name: `API round trip, ${cpu}x CPU`, value: j.tapApiRoundTripMs.throttled.p50 },
        300,
      ),
      row(
        `card tap -> balance shown, ${cpu}x CPU p99`,
        j.tapToBalanceMs.throttled.p99,
        { name: `API round trip, ${cpu}x CPU`, value: j.tapApiRoundTripMs.throttled.p99 },
        300,
      ),
      row(`card tap -> balance shown, 1x CPU p50`, j.tapToBalanceMs.unthrottled.p50, {
        name: 'API round trip, 1x CPU',
        value: j.tapApiRoundTripMs.unthrottled.p50,
      }),
      row(
        `card payment -> new balance shown, ${cpu}x CPU p50`,
        j.payToBalanceMs.throttled.p50,
        { name: 'same, 1x CPU', value: j.payToBalanceMs.unthrottled.p50 },
        300,
      ),
      {
        metric: 'JS+CSS at load, gzip',
        value: Math.round(bytes.gzip / 1024),
        unit: 'KiB',
        baseline: { name: 'uncompressed', value: Math.round(bytes.raw / 1024) },
        target: '<= 100 KiB',
        ok: bytes.gzip <= 100 * 1024,
      },
    ]
    return { json, rows }
  } finally {
    await browser.close()
    await node.stop()
    rmSync(node.dataDir, { recursive: true, force: true })
  }
}
