// In-page timing for bench/ui.ts. These functions run inside the page (Playwright serialises them), so
// they use only DOM APIs. Every time is the page's performance.now(): input events carry it as timeStamp
// (the moment chromium received the input), and "shown" is the first frame after the DOM changed
// (requestAnimationFrame, then a task: the frame has been produced).

export interface ProbeWindow {
  /** Resolves with performance.now() at the first frame where the product grid is in the DOM. */
  __lakouGridShown: Promise<number>
  /** timeStamp of the last pointerdown (the start of a click or a tap). */
  __lakouInputAt: number
  /** Arms a wait for `until`; __lakouArmed resolves with ms from the next pointerdown to that frame. */
  __lakouArm: (until: Until) => void
  __lakouArmed: Promise<number> | undefined
}

/** What the UI must show: `selector`'s text equal to `text`, or different from what it is when armed. */
export interface Until {
  selector: string
  text?: string
  /** Also required in the DOM. */
  alsoPresent?: string
}

/** Init script: installed before the page's own scripts, on every load. */
export function installProbes(gridSelector: string): void {
  const w = window as unknown as ProbeWindow
  const afterFrame = (resolve: (t: number) => void) =>
    requestAnimationFrame(() => setTimeout(() => resolve(performance.now()), 0))
  w.__lakouGridShown = new Promise<number>((resolve) => {
    const observer = new MutationObserver(() => {
      if (!document.querySelector(gridSelector)) return
      observer.disconnect()
      afterFrame(resolve)
    })
    observer.observe(document, { childList: true, subtree: true })
  })
  w.__lakouInputAt = 0
  addEventListener('pointerdown', (e) => (w.__lakouInputAt = e.timeStamp), { capture: true })
  w.__lakouArm = (until) => {
    const textOf = () => document.querySelector(until.selector)?.textContent ?? null
    const before = textOf()
    const ready = () =>
      (until.text === undefined ? textOf() !== before : textOf() === until.text) &&
      (!until.alsoPresent || document.querySelector(until.alsoPresent) !== null)
    w.__lakouInputAt = 0
    w.__lakouArmed = new Promise<number>((resolve) => {
      const check = () => {
        if (w.__lakouInputAt === 0 || !ready()) return false
        observer.disconnect()
        afterFrame((t) => resolve(t - w.__lakouInputAt))
        return true
      }
      const observer = new MutationObserver(check)
      observer.observe(document.body, {
        childList: true,
        subtree: true,
        characterData: true,
        attributes: true,
      })
    })
  }
}

/** A WebSocket API round trip from the page (no UI): the floor under a tap's UI update. */
export async function apiRoundTrips(args: { method: string; params: unknown[] }): Promise<number[]> {
  const ws = new WebSocket(`ws://${location.host}/api`)
  await new Promise((r) => ws.addEventListener('open', r))
  const times: number[] = []
  let nextId = 1
  for (const params of args.params) {
    const id = nextId++
    const t0 = performance.now()
    const answered = new Promise<void>((resolve) => {
      const onMessage = (e: MessageEvent) => {
        if ((JSON.parse(String(e.data)) as { id?: number }).id !== id) return
        ws.removeEventListener('message', onMessage)
        resolve()
      }
      ws.addEventListener('message', onMessage)
    })
    ws.send(JSON.stringify({ id, method: args.method, params }))
    await answered
    times.push(performance.now() - t0)
  }
  ws.close()
  return times
}

/**
 * The source of `fn(arg)` to run in the page. tsx (esbuild keepNames) wraps functions in `__name(...)`,
 * which the page does not define: give it a no-op.
 */
export function pageScript<A>(fn: (arg: A) => unknown, arg: A): string {
  return `(() => { const __name = (f) => f; return (${fn.toString()})(${JSON.stringify(arg)}) })()`
}

/** One API call from the page over its own WebSocket; resolves with the result (throws the error name). */
export async function apiCall(args: { method: string; params: unknown }): Promise<unknown> {
  const ws = new WebSocket(`ws://${location.host}/api`)
  await new Promise((r) => ws.addEventListener('open', r))
  const reply = new Promise<{ ok: boolean; result?: unknown; error?: { name: string } }>((resolve) => {
    const onMessage = (e: MessageEvent) => {
      const msg = JSON.parse(String(e.data)) as { id?: number; ok: boolean }
      if (msg.id === 1) resolve(msg)
    }
    ws.addEventListener('message', onMessage)
  })
  ws.send(JSON.stringify({ id: 1, method: args.method, params: args.params }))
  const msg = await reply
  ws.close()
  if (!msg.ok) throw new Error(msg.error?.name ?? 'api error')
  return msg.result
}
