// The ledger's counts (valid, pending, rejected) for a till's `stats` command, without walking every entry
// on every poll. LedgerIndex.counts() visits each entry (~7 ms of CPU at 200k records, measured on this
// machine), and the festival bench asks every till for stats every 250 ms while it waits for convergence:
// at 50 tills that polling alone could keep a third of a core busy, inside the heal it measures. Counts
// change only while the ledger ingests (a verdict, and the pending records it frees, land inside the
// ingest call that brought the record), so they are recounted only when an ingest ran since the last count
// or one is still running: the same answer as counting every time.

export interface LedgerCounts {
  valid: number
  pending: number
  rejected: number
  statements: number
}

/** The part of the ledger this needs: its counts and the two entry points that change them. */
export interface CountedLedger {
  counts(): LedgerCounts
  ingest(...args: never[]): Promise<unknown>
  ingestMany(...args: never[]): Promise<unknown>
}

export class CachedLedgerCounts {
  readonly #ledger: CountedLedger
  /** Bumped when an ingest starts and when it ends. */
  #version = 0
  #running = 0
  #cached: { version: number; counts: LedgerCounts } | undefined
  /** How many times the ledger's entries were actually walked (tests, benches). */
  recounts = 0

  /**
   * Wraps `ledger`'s ingest and ingestMany in place (whoever calls them through the object, the node's sink
   * included, goes through the wrapper). Ingests already running when this is made are not seen: make it
   * once the ledger is back (after the node's ledgerReady).
   */
  constructor(ledger: CountedLedger) {
    this.#ledger = ledger
    for (const name of ['ingest', 'ingestMany'] as const) {
      const original = ledger[name].bind(ledger) as (...args: unknown[]) => Promise<unknown>
      const wrapped = (...args: unknown[]): Promise<unknown> => {
        this.#version++
        this.#running++
        const done = () => {
          this.#running--
          this.#version++
        }
        let result: Promise<unknown>
        try {
          result = original(...args)
        } catch (e) {
          done()
          throw e
        }
        return result.finally(done)
      }
      ;(ledger as unknown as Record<string, unknown>)[name] = wrapped
    }
  }

  counts(): LedgerCounts {
    const cached = this.#cached
    if (cached && this.#running === 0 && cached.version === this.#version) return { ...cached.counts }
    const version = this.#version
    const counts = this.#ledger.counts()
    this.recounts++
    this.#cached = this.#running === 0 ? { version, counts } : undefined
    return { ...counts }
  }
}
