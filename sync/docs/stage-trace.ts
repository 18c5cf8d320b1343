// Per-stage timestamps of the push path on a receiving node (push frame received -> decoded -> queued
// work done -> verified and applied by the ledger -> reported), for latency benchmarks. Off unless
// enabled: a node keeps only the stamps of the last record per stage, no allocation per record.
export type PushStage = 'frame' | 'decoded' | 'dequeued' | 'ledger' | 'crdt'

const stamps: Partial<Record<PushStage, number>> = {}
let enabled = false

export function enableStageTrace(on = true): void {
  enabled = on
}

/** Records the wall clock (performance.timeOrigin + now) of a stage. */
export function stamp(stage: PushStage): void {
  if (enabled) stamps[stage] = performance.timeOrigin + performance.now()
}

export function lastStamps(): Partial<Record<PushStage, number>> {
  return { ...stamps }
}
