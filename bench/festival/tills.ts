// Spawning festival tills (bench/festival/till-proc.ts) as separate OS processes and talking to them over
// JSON lines. Separate processes rather than worker threads: each till is then a node as deployed, with its
// own event loop, heap and libp2p stack, and its peak RSS (VmHWM) is its own; the 2 cores are shared either way.
import type { ChildProcess } from 'node:child_process'
import { spawnJsonLinesProcess } from '../../sync/test/json-lines-process.ts'

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
  /** The last few thousand characters the till wrote to stderr (its node's log lines). */
  stderr(): string
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
  const proc = await spawnJsonLinesProcess(script, args, {
    label: 'till',
    readyTimeoutMs: timeoutMs,
    sendTimeoutMs: 60_000,
    // A till that dies mid-run says why (its stderr tail), instead of surfacing later as a refused dial.
    onExit: (code, stderr) => {
      if (code !== 0)
        process.stderr.write(
          `[festival] ${script} ${args.join(' ')} exited (${code}): ${stderr.slice(-1500)}\n`,
        )
    },
  })
  const startMs = performance.now() - t0
  const { child, exited, send } = proc
  return {
    child,
    peerId: String(proc.ready.peerId),
    addresses: proc.ready.addresses as string[],
    startMs,
    ready: proc.ready,
    send,
    exited,
    onEvent: proc.onEvent,
    stderr: proc.stderr,
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
