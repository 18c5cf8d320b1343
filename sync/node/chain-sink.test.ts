import { describe, expect, it } from 'vitest'
import { ChainSink } from './chain-sink.ts'
import { createFixture, DeviceChainWriter, LedgerIndex, verificationCount, ZERO_HASH } from './ledger.ts'

async function setup() {
  const fx = await createFixture('chain-sink')
  const ledger = new LedgerIndex({ federation: fx.federation.publicKey })
  const sink = new ChainSink(ledger)
  await sink.ingestMany(fx.statements)
  const till = new DeviceChainWriter(fx.venues[0]!.cashier.key)
  const card = fx.tagCards[0]!
  const topUp = await till.append({
    kind: 'top-up',
    chain: { card, cardSeq: 1, cardPrev: ZERO_HASH },
    asset: 'EUR',
    amount: 2000,
    method: 'cash',
  })
  return { fx, ledger, sink, topUp }
}

// Same unsigned content (same hash), last signature byte flipped.
function forge(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes)
  copy[copy.length - 1]! ^= 1
  return copy
}

describe('ChainSink fed into the ledger', () => {
  it('verifies each signature once (the ledger verifies; the sink does not check again)', async () => {
    const { sink, ledger, topUp } = await setup()
    const before = verificationCount()
    expect(await sink.ingest(topUp.bytes)).toBe('applied')
    expect(verificationCount() - before).toBe(1)
    expect(ledger.counts().valid).toBe(1)
  })

  it('batch: one verification per signature too', async () => {
    const { sink, topUp } = await setup()
    const before = verificationCount()
    expect(await sink.ingestMany([topUp.bytes])).toEqual(['applied'])
    expect(verificationCount() - before).toBe(1)
  })

  it('rejects a forged copy, then applies the genuine record', async () => {
    const { sink, ledger, topUp } = await setup()
    expect(await sink.ingest(forge(topUp.bytes))).toBe('rejected')
    expect(sink.has(topUp.hash.reduce((s, b) => s + b.toString(16).padStart(2, '0'), ''))).toBe(false)
    expect(await sink.ingest(topUp.bytes)).toBe('applied')
    expect(ledger.counts().valid).toBe(1)
    expect(sink.rejected).toBe(1)
  })

  it('a forged copy of a record the ledger already holds is checked by the sink itself', async () => {
    const { fx, sink, topUp } = await setup()
    // The ledger got the genuine record elsewhere (a rebuild after restart), the sink has not seen it.
    const ledger = new LedgerIndex({ federation: fx.federation.publicKey })
    await ledger.ingestMany([...fx.statements, topUp.bytes])
    const fresh = new ChainSink(ledger)
    expect(await fresh.ingest(forge(topUp.bytes))).toBe('rejected')
    expect(await fresh.ingest(topUp.bytes)).toBe('applied')
    expect(sink.size).toBeGreaterThan(0)
  })

  it('a record the ledger refuses on a rule (not a signature) still counts for sync', async () => {
    const { fx, sink, ledger } = await setup()
    const till = new DeviceChainWriter(fx.venues[0]!.cashier.key)
    // A sale on an empty card breaks the floor rule: valid signatures, rejected by the ledger.
    const sale = await till.append({
      kind: 'sale',
      chain: { card: fx.tagCards[1]!, cardSeq: 1, cardPrev: ZERO_HASH },
      lines: [{ product: 'beer', quantity: 1, unitPrice: 350, asset: 'EUR', vatRate: 2000 }],
      payments: [{ method: 'card', asset: 'EUR', amount: 350 }],
    })
    expect(await sink.ingest(sale.bytes)).toBe('applied')
    expect(ledger.counts().rejected).toBe(1)
  })
})
