// Forwarded records wait a few milliseconds per peer before they leave, several to a frame: one frame per
// record per link was a large share of a till's CPU at 10-20 tills (noise, yamux, length prefix and CBOR per
// frame). While a record waits for peer Q, Q may send it to us itself (a flood reaches a till from several
// neighbours within milliseconds): it is then struck from Q's queue, so that copy never crosses the link.
// Records are keyed by their last signature (recordKey: no hash to compute).

/** One record on the wire: its bytes, with its page and position when the sender knows them. */
export type PushItem = [bytes: Uint8Array, page?: string, index?: number]

/** A signed record ends with its signatures, 64 bytes each (ledger/codec.ts envelope). */
const SIGNATURE_BYTES = 64

type Latin1Slice = (this: Uint8Array, start: number, end: number) => string
// Node's native one-byte string of bytes (absent in browsers: String.fromCharCode there).
const latin1Slice = (globalThis as { Buffer?: { prototype: { latin1Slice?: Latin1Slice } } }).Buffer
  ?.prototype.latin1Slice

/**
 * Map key of a pushed record: its last 64 bytes, its last signature (the whole bytes when shorter: never
 * equal to a 64-char key). Equal keys mean the same record or an invalid one: each signature binds the
 * record's content hash (the device's signs the hash, a card's the cardSeq and the hash), so a valid record
 * cannot carry another content's last signature. A byte-different copy of a record held here is then
 * dropped like an exact copy, unverified: valid, it is the same content (a duplicate); else it is forged.
 * The whole bytes as a key (TextDecoder, ~300 bytes) cost 4-13 us per received copy and ~650 bytes of
 * string (two-byte: windows-1252 maps 0x80-0x9f above 0xff); the tail costs ~0.4 us and 64 bytes.
 */
export function recordKey(bytes: Uint8Array): string {
  const from = bytes.length > SIGNATURE_BYTES ? bytes.length - SIGNATURE_BYTES : 0
  return latin1Slice
    ? latin1Slice.call(bytes, from, bytes.length)
    : String.fromCharCode.apply(null, bytes.subarray(from) as unknown as number[])
}

/** A bounded set of records by key (recordKey; oldest forgotten first). */
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
