import { describe, expect, it } from 'vitest'
import { ChainGossip } from './chain-gossip.ts'
import { ChainSink } from './chain-sink.ts'
import { createFixture, DeviceChainWriter, LedgerIndex, toHex, ZERO_HASH } from './ledger.ts'

async function setup(options: { max?: number } = {}) {
  const fx = await createFixture('chain-gossip')
  const sink = new ChainSink(new LedgerIndex({ federation: fx.federation.publicKey }))
  await sink.ingestMany(fx.statements)
  let clock = 0
  const seen: string[] = []
  sink.onRecord = (hash) => seen.push(hash) // a listener set before the gossip keeps being called
  const gossip = new ChainGossip(sink, { ...options, now: () => clock })
  const key = fx.venues[0]!.cashier.key
  const till = new DeviceChainWriter(key)
  const card = fx.tagCards[0]!
  const records: Uint8Array[] = []
  let head: Uint8Array = ZERO_HASH
  for (let seq = 1; seq <= 4; seq++) {
    const r = await till.append({
      kind: 'top-up',
      chain: { card, cardSeq: seq, cardPrev: head },
      asset: 'EUR',
      amount: 100 * seq,
      method: 'cash',
    })
    head = r.hash
    records.push(r.bytes)
  }
  return {
    sink,
    gossip,
    records,
    seen,
    device: toHex(key.publicKey),
    tick: (ms: number) => {
      clock += ms
    },
  }
}

describe('ChainGossip (anti-entropy source)', () => {
  it('summarises each device chain by its gap-free length and top hash', async () => {
    const { sink, gossip, records, device } = await setup()
    await sink.ingest(records[0]!)
    await sink.ingest(records[1]!)
    await sink.ingest(records[3]!) // seq 3 missing: the chain is 2 long
    expect(gossip.summary()).toEqual([[device, 2, sink.devices.get(device)!.seqs.get(2)]])
    await sink.ingest(records[2]!)
    expect(gossip.summary()[0]![1]).toBe(4)
  })

  it('sends a peer what follows its length, oldest first, only what has settled, and not past a gap', async () => {
    const { sink, gossip, records, device, tick, seen } = await setup()
    for (const r of records.slice(0, 3)) await sink.ingest(r)
    tick(10_000)
    await sink.ingest(records[3]!)
    expect(seen).toHaveLength(4)
    const theirs = new Map<string, [number, string]>([[device, [1, 'x']]])
    expect(gossip.missing(theirs, 100, 5000)).toEqual([records[1], records[2]]) // seq 4 is too recent
    expect(gossip.missing(theirs, 100, 0)).toEqual(records.slice(1))
    expect(gossip.missing(theirs, 1, 0)).toEqual([records[1]])
    expect(gossip.missing(new Map(), 100, 0)).toEqual(records) // a peer that never saw the device
  })

  it('does not remember records of page batches (history): peers lacking them get the pages', async () => {
    const { sink, gossip, records, device, seen } = await setup()
    await sink.ingestMany(records.slice(0, 3))
    expect(seen).toHaveLength(3) // the listener before the gossip still hears them
    expect(gossip.remembered).toBe(0)
    await sink.ingest(records[3]!)
    expect(gossip.remembered).toBe(1)
    expect(gossip.missing(new Map([[device, [3, '']]]), 100, 0)).toEqual([records[3]])
    // a peer that never saw the device gets only what is in memory
    expect(gossip.missing(new Map([[device, [0, '']]]), 100, 0)).toEqual([records[3]])
  })

  it('remembers only the newest records; older ones are left to the pages', async () => {
    const { sink, gossip, records, device } = await setup({ max: 2 })
    for (const r of records) await sink.ingest(r)
    expect(gossip.remembered).toBe(2)
    expect(gossip.missing(new Map([[device, [0, '']]]), 100, 0)).toEqual(records.slice(2))
  })
})
