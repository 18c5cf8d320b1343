// Forwarded records wait a few milliseconds per peer before they leave, several to a frame: one frame per
// record per link was a large share of a till's CPU at 10-20 tills (noise, yamux, length prefix and CBOR per
// frame). While a record waits for peer Q, Q may send it to us itself (a flood reaches a till from several
// neighbours within milliseconds): it is then struck from Q's queue, so that copy never crosses the link.
// Records are keyed by their whole bytes (an injective string of them: no hash to compute).

/** One record on the wire: its bytes, with its page and position when the sender knows them. */
export type PushItem = [bytes: Uint8Array, page?: string, index?: number]

// windows-1252 decoding maps each byte to its own code point (bytes it leaves undefined become C1 controls):
// an injective key, made natively.
const latin1 = new TextDecoder('latin1')

/** Map key of a record's bytes: distinct bytes, distinct keys. */
export function bytesKey(bytes: Uint8Array): string {
  return latin1.decode(bytes)
}

/** A bounded set of records by bytes (oldest forgotten first). */
export class RecentBytes {
  readonly #max: number
  readonly #keys = new Set<string>()
  constructor(max: number) {
    this.#max = max
  }
  has(key: string): boolean {
    return this.#keys.has(key)
  }
  add(key: string): void {
    this.#keys.delete(key)
    this.#keys.add(key)
    if (this.#keys.size > this.#max) this.#keys.delete(this.#keys.values().next().value as string)
  }
  get size(): number {
    return this.#keys.size
  }
}

/** Per-peer queues of records to forward, flushed together every `delayMs`. */
export class Outbox {
  readonly #queues = new Map<string, Map<string, PushItem>>()
  readonly #delayMs: number
  readonly #flush: (peer: string, items: PushItem[]) => void
  #timer: ReturnType<typeof setTimeout> | undefined
  /** Records struck from a queue because the peer sent them first. */
  suppressed = 0

  constructor(delayMs: number, flush: (peer: string, items: PushItem[]) => void) {
    this.#delayMs = delayMs
    this.#flush = flush
  }

  add(peer: string, item: PushItem, key: string): void {
    let q = this.#queues.get(peer)
    if (!q) {
      q = new Map()
      this.#queues.set(peer, q)
    }
    q.set(key, item)
    this.#timer ??= setTimeout(() => this.flushNow(), this.#delayMs)
  }

  /** `peer` holds this record (it sent it to us): it need not get it from us. */
  heldBy(peer: string, key: string): void {
    if (this.#queues.get(peer)?.delete(key)) this.suppressed++
  }

  /** Takes the records waiting for `peer` out of its queue (they leave with a frame sent now). */
  take(peer: string): PushItem[] {
    const q = this.#queues.get(peer)
    if (!q || q.size === 0) return []
    this.#queues.delete(peer)
    return [...q.values()]
  }

  flushNow(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
    const queues = [...this.#queues]
    this.#queues.clear()
    for (const [peer, q] of queues) if (q.size > 0) this.#flush(peer, [...q.values()])
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#queues.clear()
  }
}
