// Spawning festival tills (bench/festival/till-proc.ts) as separate OS processes and talking to them over
// JSON lines. Separate processes rather than worker threads: each till is then a node as deployed, with its
// own event loop, heap and libp2p stack, and its peak RSS (VmHWM) is its own; the 2 cores are shared either way.
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'

const root = new URL('../..', import.meta.url).pathname

export interface Till {
  child: ChildProcess
  peerId: string
  addresses: string[]
  /** Wall-clock ms from spawn to the till's ready line (ready to sell). */
  startMs: number
  /** The ready line itself (the till's own timings: importedMs, readyMs since its process started). */
  ready: Record<string, unknown>
  send(cmd: Record<string, unknown>, timeoutMs?: number): Promise<Record<string, unknown>>
  onEvent(fn: (e: Record<string, unknown>) => void): void
  exited: Promise<number | null>
  stop(): Promise<void>
}

type RunBundled = { ensureBundle(entry: string): Promise<string> }

/**
 * Builds (when stale) the esbuild bundle of `script` once, before tills start: tills started in parallel
 * would otherwise each build it. sync/node/run-bundled.mjs is plain JS, hence the typed dynamic import.
 */
export async function prepareBundle(script: string): Promise<void> {
  const { ensureBundle } = (await import(`../../sync/node/run-bundled${'.mjs'}`)) as RunBundled
  await ensureBundle(script)
}

export async function spawnTill(script: string, args: string[], timeoutMs = 600_000): Promise<Till> {
  const t0 = performance.now()
  // From its esbuild bundle (as `lakou node` runs): no tsx start-up and transforms in each till.
  const child = spawn(process.execPath, ['sync/node/run-bundled.mjs', script, ...args], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
    // fsyncs and WebCrypto verifies share libuv's thread pool (4 threads by default), as in sync/test.
    env: { ...process.env, UV_THREADPOOL_SIZE: '16' },
  })
  let stderr = ''
  child.stderr!.on('data', (d) => {
    stderr = (stderr + d).slice(-4000)
    if (process.env.LAKOU_DEBUG) process.stderr.write(d)
  })
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
  const waiting = new Map<
    number,
    { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }
  >()
  const listeners: Array<(e: Record<string, unknown>) => void> = []
  const ready = Promise.withResolvers<Record<string, unknown>>()
  const readyTimer = setTimeout(
    () => ready.reject(new Error(`till not ready after ${timeoutMs} ms`)),
    timeoutMs,
  )
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let m: Record<string, unknown>
    try {
      m = JSON.parse(line)
    } catch {
      return
    }
    if (m.event === 'ready') ready.resolve(m)
    else if (m.event) for (const l of listeners) l(m)
    else if (typeof m.id === 'number') {
      const w = waiting.get(m.id)
      waiting.delete(m.id)
      if (m.ok) w?.resolve(m)
      else w?.reject(new Error(String(m.error)))
    }
  })
  void exited.then((code) => {
    // A till that dies mid-run says why (its stderr tail), instead of surfacing later as a refused dial.
    if (code !== 0 && ready)
      process.stderr.write(
        `[festival] ${script} ${args.join(' ')} exited (${code}): ${stderr.slice(-1500)}\n`,
      )
    ready.reject(new Error(`till exited (${code}) before ready: ${stderr}`))
    for (const w of waiting.values()) w.reject(new Error(`till exited (${code}): ${stderr.slice(-500)}`))
    waiting.clear()
  })
  const r = await ready.promise.finally(() => clearTimeout(readyTimer))
  const startMs = performance.now() - t0
  let nextId = 1
  const send = (cmd: Record<string, unknown>, ms = 60_000) => {
    const id = nextId++
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(id)
        reject(new Error(`${String(cmd.cmd)} timed out`))
      }, ms)
      waiting.set(id, {
        resolve: (v) => {
          clearTimeout(timer)
          resolve(v)
        },
        reject: (e) => {
          clearTimeout(timer)
          reject(e)
        },
      })
      child.stdin!.write(`${JSON.stringify({ ...cmd, id })}\n`)
    })
  }
  return {
    child,
    peerId: String(r.peerId),
    addresses: r.addresses as string[],
    startMs,
    ready: r,
    send,
    exited,
    onEvent: (fn) => listeners.push(fn),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      await send({ cmd: 'stop' }, 30_000).catch(() => {})
      const t = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(t)
    },
  }
}

/** Runs fn over items with at most `limit` in flight (starting 50 node processes at once would thrash). */
export async function pool<T, R>(
  items: T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await fn(items[i]!, i)
      }
    }),
  )
  return out
}
