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
