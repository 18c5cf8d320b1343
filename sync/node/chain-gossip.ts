// The anti-entropy source of the record push (sync/docs/push.ts `ChainSource`): per-device chain summaries
// from the ChainSink's state, and the bytes of the records applied lately, so a peer that lacks some (a
// partition just healed) gets them straight from memory over the push protocol. Older records than the
// memory holds come through the page docs, as before.
import type { ChainEntry, ChainSource } from '../docs/mod.ts'
import type { ChainSink } from './chain-sink.ts'

export class ChainGossip implements ChainSource {
  readonly #sink: ChainSink
  readonly #max: number
  // hash (hex) -> bytes and when it was applied here; oldest first (a Map keeps insertion order).
  readonly #recent = new Map<string, { bytes: Uint8Array; at: number }>()
  readonly #now: () => number
  // Gap-free length per device chain, advanced as the chain grows (seqs are never removed).
  readonly #lengths = new Map<string, number>()

  /**
   * Remembers the last `max` records the sink applies one by one (a few hundred bytes each, ~10 MB at
   * 16,384). Not those of page batches: a catch-up's history (a fresh till kept the last 16k of it), which
   * any peer lacking it gets from the pages too.
   */
  constructor(sink: ChainSink, options: { max?: number; now?: () => number } = {}) {
    this.#sink = sink
    this.#max = options.max ?? 16_384
    this.#now = options.now ?? (() => performance.now())
    const before = sink.onRecord
    sink.onRecord = (hash, bytes, fromBatch) => {
      if (!fromBatch) this.remember(hash, bytes)
      before?.(hash, bytes, fromBatch)
    }
  }

  remember(hashHex: string, bytes: Uint8Array): void {
    this.#recent.set(hashHex, { bytes, at: this.#now() })
    if (this.#recent.size > this.#max) this.#recent.delete(this.#recent.keys().next().value as string)
  }

  get remembered(): number {
    return this.#recent.size
  }

  summary(): ChainEntry[] {
    const out: ChainEntry[] = []
    for (const [device, chain] of this.#sink.devices) {
      let length = this.#lengths.get(device) ?? 0
      while (chain.seqs.has(length + 1)) length++
      this.#lengths.set(device, length)
      out.push([device, length, length > 0 ? chain.seqs.get(length)! : ''])
    }
    return out
  }

  missing(theirs: Map<string, [number, string]>, max: number, settledMs: number): Uint8Array[] {
    const out: Uint8Array[] = []
    const cutoff = this.#now() - settledMs
    for (const [device, chain] of this.#sink.devices) {
      const [theirLength] = theirs.get(device) ?? [0, '']
      // Their copy may have a gap below its length or another record at it (a fork): those come through the
      // pages; what follows their length, up to a gap of this node's own, is sent from memory.
      for (let seq = theirLength + 1; out.length < max; seq++) {
        const hash = chain.seqs.get(seq)
        if (hash === undefined) break
        const held = this.#recent.get(hash)
        if (held && held.at <= cutoff) out.push(held.bytes)
      }
    }
    return out
  }
}
