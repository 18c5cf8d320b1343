// CachedLedgerCounts: the same counts as the ledger's own counts() at every moment (before, during and after
// ingests, a pending record freed by its predecessor included), with the entries walked only when an ingest
// ran since the last count.
import { describe, expect, it } from 'vitest'
import { makeKit } from '../../ledger/test-kit.ts'
import { CachedLedgerCounts, type CountedLedger, type LedgerCounts } from './ledger-counts.ts'

describe('CachedLedgerCounts', () => {
  it('answers as the ledger does, recounting only after an ingest', async () => {
    const kit = await makeKit('ledger-counts')
    const cached = new CachedLedgerCounts(kit.index)
    const card = kit.fx.tagCards[0]!
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    expect(cached.counts()).toEqual(kit.index.counts())
    expect(cached.counts()).toEqual(kit.index.counts())
    expect(cached.recounts).toBe(1)

    // the card's second record first: pending until the first arrives
    const first = await kit.topUp(w, card, 500)
    const second = await kit.topUp(w, card, 300)
    await kit.ingest(second)
    expect(cached.counts().pending).toBe(1)
    expect(cached.counts()).toEqual(kit.index.counts())
    expect(cached.recounts).toBe(2)

    // while an ingest runs every poll recounts; once it is over the pending one is valid
    const running = kit.index.ingest(first.bytes)
    expect(cached.counts()).toEqual(kit.index.counts())
    await running
    const after = cached.counts()
    expect(after).toEqual(kit.index.counts())
    expect(after.pending).toBe(0)
    expect(after.valid).toBeGreaterThanOrEqual(2)
    const recounts = cached.recounts
    cached.counts()
    expect(cached.recounts).toBe(recounts)
  })

  it('recounts after an ingest that failed, whether it threw or rejected', async () => {
    let value: LedgerCounts = { valid: 0, pending: 0, rejected: 0, statements: 0 }
    const ledger: CountedLedger = {
      counts: () => value,
      ingest: () => {
        value = { ...value, rejected: value.rejected + 1 }
        throw new Error('thrown')
      },
      ingestMany: () => {
        value = { ...value, rejected: value.rejected + 1 }
        return Promise.reject(new Error('rejected'))
      },
    }
    const cached = new CachedLedgerCounts(ledger)
    expect(cached.counts().rejected).toBe(0)
    expect(() => ledger.ingest()).toThrow('thrown')
    expect(cached.counts().rejected).toBe(1)
    await expect(ledger.ingestMany()).rejects.toThrow('rejected')
    expect(cached.counts().rejected).toBe(2)
    expect(cached.recounts).toBe(3)
  })
})
