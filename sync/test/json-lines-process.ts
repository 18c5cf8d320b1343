// A bundled TS entry run as its own OS process, driven over JSON lines on stdin/stdout: requests carry an
// `id` and get `{id, ok, ...}` back; lines with `event` are pushed events; `{event: 'ready'}` ends start-up.
// Shared by the sync test cluster (sync/test/cluster.ts) and the festival bench (bench/festival/tills.ts).
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { TILL_NODE_FLAGS, tillEnv } from '../node/till-launch.mjs'

const root = new URL('../..', import.meta.url).pathname

type Reply = Record<string, unknown>

export interface JsonLinesProcess {
  child: ChildProcess
  /** The ready line. */
  ready: Reply
  /** Sends a command and resolves with its reply (rejects on ok: false, exit or timeout). */
  send(cmd: Reply, timeoutMs?: number): Promise<Reply>
  onEvent(fn: (e: Reply) => void): void
  exited: Promise<number | null>
  /** The last 4,000 characters the process wrote to stderr. */
  stderr(): string
}

export interface JsonLinesOptions {
  /** Names the process in errors ("node", "till"). */
  label: string
  readyTimeoutMs?: number
  sendTimeoutMs: number
  /** Called when the process exits, before pending requests are rejected. */
  onExit?(code: number | null, stderr: string): void
}

export async function spawnJsonLinesProcess(
  script: string,
  args: string[],
  options: JsonLinesOptions,
): Promise<JsonLinesProcess> {
  const { label } = options
  const child = spawn(
    process.execPath,
    // From its esbuild bundle (rebuilt when stale), as `lakou node` runs: no tsx start-up in each process.
    // LAKOU_CHILD_NODE_ARGS: extra node flags for every child (e.g. --cpu-prof, not allowed in NODE_OPTIONS).
    // With the flags and environment of `lakou node` (sync/node/till-launch.mjs); LAKOU_CHILD_NODE_ARGS after them.
    [
      ...TILL_NODE_FLAGS,
      ...(process.env.LAKOU_CHILD_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      'sync/node/run-bundled.mjs',
      script,
      ...args,
    ],
    { cwd: root, stdio: ['pipe', 'pipe', 'pipe'], env: tillEnv() },
  )
  let stderr = ''
  child.stderr!.on('data', (d) => {
    stderr = (stderr + d).slice(-4000)
    if (process.env.LAKOU_DEBUG) process.stderr.write(d)
  })
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
  const waiting = new Map<number, { resolve: (v: Reply) => void; reject: (e: Error) => void }>()
  const listeners: Array<(e: Reply) => void> = []
  const ready = Promise.withResolvers<Reply>()
  const readyTimer =
    options.readyTimeoutMs === undefined
      ? undefined
      : setTimeout(
          () => ready.reject(new Error(`${label} not ready after ${options.readyTimeoutMs} ms`)),
          options.readyTimeoutMs,
        )
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let m: Reply
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
    options.onExit?.(code, stderr)
    ready.reject(new Error(`${label} exited (${code}) before ready: ${stderr}`))
    for (const w of waiting.values()) w.reject(new Error(`${label} exited (${code}): ${stderr.slice(-500)}`))
    waiting.clear()
  })
  const readyLine = await ready.promise.finally(() => clearTimeout(readyTimer))
  let nextId = 1
  return {
    child,
    ready: readyLine,
    exited,
    stderr: () => stderr,
    onEvent: (fn) => listeners.push(fn),
    send(cmd, timeoutMs = options.sendTimeoutMs) {
      const id = nextId++
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id)
          reject(new Error(`${String(cmd.cmd)} timed out`))
        }, timeoutMs)
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
    },
  }
}
