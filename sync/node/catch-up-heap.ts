// A till that ingests records in bulk (a fresh till catching up, a ledger rebuild) allocates a lot of
// short-lived objects that outlive a young-generation GC (records decoded and waiting in batches), and V8
// lets the old generation grow to up to ~4x its live size before a full GC: a fresh till at 200,000 records
// peaked at ~500 MB of which ~150 MB was garbage awaiting that GC. V8's `--heap-growing-percent` caps that
// factor (50: 1.5x); as a start flag it cost ~12% more CPU per live record (festival 10 x 20k, 1.80 ->
// 1.99 ms), so it is set only while records arrive in bulk and reset (0: V8's own factor) once they stop.
import v8 from 'node:v8'
import { runInNewContext } from 'node:vm'

export interface BulkIngestHeapOptions {
  /** Records applied per second above which the node counts as ingesting in bulk (default 1,000). */
  bulkPerSecond?: number
  /** Quiet seconds (below a fifth of bulkPerSecond) before V8's own growing factor is back (default 5). */
  quietSeconds?: number
  /** Growing percent while in bulk (default 50). */
  percent?: number
  /** How the flag is set (tests). */
  setFlags?: (flags: string) => void
}

export class BulkIngestHeap {
  readonly #bulk: number
  readonly #quietSeconds: number
  readonly #percent: number
  readonly #setFlags: (flags: string) => void
  #count = 0
  #quiet = 0
  #inBulk = false
  #timer: ReturnType<typeof setInterval> | undefined

  constructor(options: BulkIngestHeapOptions = {}) {
    this.#bulk = options.bulkPerSecond ?? 1000
    this.#quietSeconds = options.quietSeconds ?? 5
    this.#percent = options.percent ?? 50
    this.#setFlags = options.setFlags ?? ((f) => v8.setFlagsFromString(f))
  }

  get inBulk(): boolean {
    return this.#inBulk
  }

  /** Counts applied records (call once per record or with a batch size). */
  applied(n = 1): void {
    this.#count += n
  }

  /** Samples the last second's count (the timer calls it every second). */
  tick(): void {
    const n = this.#count
    this.#count = 0
    if (n >= this.#bulk) {
      this.#quiet = 0
      if (!this.#inBulk) this.#set(true)
    } else if (!this.#inBulk) return
    else if (n >= this.#bulk / 5) this.#quiet = 0
    else if (++this.#quiet >= this.#quietSeconds) this.#set(false)
  }

  start(): void {
    this.#timer ??= setInterval(() => this.tick(), 1000)
    this.#timer.unref?.()
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
    if (this.#inBulk) this.#set(false)
  }

  #set(bulk: boolean): void {
    this.#inBulk = bulk
    this.#quiet = 0
    this.#setFlags(`--heap-growing-percent=${bulk ? this.#percent : 0}`)
  }
}

// Large buffers (a restore's snapshot head and checkpoint bytes, ~20 MB at 200k records; a checkpoint
// export's, the same again every 60 s) are given back only when a GC collects their objects, and a till
// that sells a few records a minute may go minutes without a full GC: they stayed resident and counted
// in its peak. A full GC of a till's ~60 MB heap takes some tens of ms.
type FullGc = () => void
let fullGc: FullGc | null | undefined

/**
 * A full garbage collection now, where the runtime allows one (node's `gc`, exposed at run time if needed);
 * false when it does not, or when LAKOU_RELEASE_GC=0 (A/B runs).
 */
export function collectGarbage(): boolean {
  if (process.env.LAKOU_RELEASE_GC === '0') return false
  if (fullGc === undefined) fullGc = findGc()
  if (!fullGc) return false
  fullGc()
  return true
}

function findGc(): FullGc | null {
  const exposed = (globalThis as { gc?: unknown }).gc
  if (typeof exposed === 'function') return exposed as FullGc
  try {
    v8.setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as unknown
    return typeof gc === 'function' ? (gc as FullGc) : null
  } catch {
    return null
  }
}
