// Applying in slices: while verifications are in flight, a settled one applies at most a slice of the
// queue (a woken chain of thousands of records must not keep the verify pool idle). The outcome must be
// the one of an index that applied everything at once, and a snapshot taken between two slices must
// strand nothing.
import { describe, expect, it } from 'vitest'
import { createFixture, LedgerIndex, type SignedRecord } from './mod.ts'
import { makeKit } from './test-kit.ts'

/** Counts slices that left records queued, and snapshots the index at the first one. */
class SlicedIndex extends LedgerIndex {
  partialSlices = 0
  midIngestSnapshot: Uint8Array | null = null

  protected override drainSome(budget: number): void {
    super.drainSome(budget)
    if (this.queue.length === 0) return
    this.partialSlices++
    this.midIngestSnapshot ??= this.exportSnapshot()
  }
}

describe('ingest applies woken records in slices', () => {
  it('gives the same views as in-order ingestion, and a mid-ingest snapshot strands nothing', async () => {
    const fx = await createFixture('slices', { tagCards: 2 })
    const kit = await makeKit('slices', fx)
    const [a, b] = fx.tagCards
    const chainTill = fx.writer(fx.venues[0]!.cashier)
    const otherTill = fx.writer(fx.venues[1]!.cashier)
    const chain: SignedRecord[] = []
    for (let i = 0; i < 150; i++) chain.push(await kit.topUp(chainTill, a!, 1))
    const others: SignedRecord[] = []
    for (let i = 0; i < 60; i++) others.push(await kit.topUp(otherTill, b!, 1))

    // the chain reversed: every record waits until the first, verified while `others` are in flight,
    // wakes all of them
    const batch = [...chain]
      .reverse()
      .concat(others)
      .map((r) => r.bytes)
    const sliced = new SlicedIndex({ federation: fx.federation.publicKey, concurrency: 4 })
    await sliced.ingestMany(fx.statements)
    const results = await sliced.ingestMany(batch)
    expect(sliced.partialSlices).toBeGreaterThan(0) // the path under test was taken
    expect(results.every((r) => r.status === 'valid')).toBe(true)

    const inOrder = new LedgerIndex({ federation: fx.federation.publicKey })
    await inOrder.ingestMany(fx.statements)
    await inOrder.ingestMany([...chain, ...others].map((r) => r.bytes))
    expect(JSON.stringify(sliced.snapshot())).toBe(JSON.stringify(inOrder.snapshot()))
    expect(sliced.balance(a!, 'EUR')).toBe(150)
    expect(sliced.checkInvariants().ok).toBe(true)

    // restored from the snapshot taken between two slices: no record left to apply (the export applied
    // the queued ones; a restored queue would wait for the next ingest), and the same batch again
    // completes it to the same views
    const restored = LedgerIndex.fromSnapshot(sliced.midIngestSnapshot!, {
      federation: fx.federation.publicKey,
    })
    expect((restored as unknown as { queue: string[] }).queue).toEqual([])
    expect(restored.counts().valid).toBeGreaterThan(0)
    await restored.ingestMany(batch)
    expect(JSON.stringify(restored.snapshot())).toBe(JSON.stringify(inOrder.snapshot()))
  })
})
