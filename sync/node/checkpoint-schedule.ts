// How often a node checkpoints its index while records arrive. A checkpoint exports the whole ledger and the
// sink (a till at 200k records: 0.5-0.7 s of CPU per checkpoint on this 2-core machine under load, ~55 MB
// written), so at a fixed interval its cost grows with the history: 50 festival tills at 200k records,
// one checkpoint a minute each, spent ~0.5 of the machine's 2 cores on it. The spacing grows with the
// records held: one base interval (checkpointEveryMs, default 60 s) per 50k records, at most 10. What a
// longer spacing costs: after a crash (a stop always checkpoints) the records newer than the checkpoint
// come back from their pages through the feed and are verified again.

/** Records per base interval between two checkpoints. */
export const RECORDS_PER_CHECKPOINT_INTERVAL = 50_000
/** At most this many base intervals between two checkpoints. */
export const MAX_CHECKPOINT_INTERVALS = 10

/** Base intervals (ticks of checkpointEveryMs) between two checkpoints of an index holding `records`. */
export function checkpointIntervals(records: number): number {
  return Math.min(MAX_CHECKPOINT_INTERVALS, Math.max(1, Math.ceil(records / RECORDS_PER_CHECKPOINT_INTERVAL)))
}

// When the checkpoint comes. Tills started together (a festival's, a venue's after a power cut) with the same
// spacing wrote their checkpoints in one wave: 10 festival tills at 200k records each spent 0.5-1 s of CPU
// within the same few seconds, every 5 minutes (profiled with `npm run bench -- idle --fresh`), and on the
// festival's one machine the wave landed on a fresh till's catch-up (50 tills: ~0.5 of the 2 cores for a
// minute). Each spacing is now jittered per node, and a due checkpoint waits while the node is busy for
// someone else (a peer catching up from its pages) or ingests in bulk itself (its records change every
// second: the checkpoint would be stale at once): at most one more spacing.

export interface CheckpointScheduleOptions {
  /** The base interval (checkpointEveryMs). */
  baseMs: number
  /** Each spacing is the base spacing times 1 +- this, drawn per checkpoint (default 0.25). */
  jitter?: number
  now?: () => number
  random?: () => number
}

export class CheckpointSchedule {
  readonly #baseMs: number
  readonly #jitter: number
  readonly #now: () => number
  readonly #random: () => number
  /** When the last checkpoint was written (or the schedule made). */
  #last: number
  /** This cycle's spacing factor (1 +- jitter). */
  #factor: number

  constructor(o: CheckpointScheduleOptions) {
    this.#baseMs = o.baseMs
    this.#jitter = Math.min(0.9, Math.max(0, o.jitter ?? 0.25))
    this.#now = o.now ?? (() => performance.now())
    this.#random = o.random ?? Math.random
    this.#last = this.#now()
    this.#factor = this.#draw()
  }

  #draw(): number {
    return 1 + this.#jitter * (2 * this.#random() - 1)
  }

  /** How often the node asks `due()`: a quarter of the base interval, at most 10 s. */
  get checkEveryMs(): number {
    return Math.max(1, Math.min(10_000, Math.round(this.#baseMs / 4)))
  }

  /** The spacing in force for an index holding `records` (ms). */
  spacingMs(records: number): number {
    return this.#baseMs * checkpointIntervals(records) * this.#factor
  }

  /**
   * Is a checkpoint due now for an index holding `records` (the caller checks there is something new to
   * write)? `busy`: the node serves a peer's catch-up or ingests in bulk; a due checkpoint then waits, at
   * most one more spacing.
   */
  due(records: number, busy: boolean): boolean {
    const spacing = this.spacingMs(records)
    const late = this.#now() - this.#last - spacing
    if (late < 0) return false
    return !busy || late >= spacing
  }

  /** A checkpoint was written now: the next spacing starts, with a new jitter. */
  written(): void {
    this.#last = this.#now()
    this.#factor = this.#draw()
  }
}
