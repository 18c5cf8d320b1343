import { describe, expect, it } from 'vitest'
import { ChainSink } from './chain-sink.ts'
import {
  createFixture,
  DeviceChainWriter,
  LedgerIndex,
  sha256,
  toHex,
  verificationCount,
  ZERO_HASH,
} from './ledger.ts'
import { SinkSnapshotError } from './sink-snapshot.ts'

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

  it('in a batch too, a ledger duplicate is applied only if its own signatures hold', async () => {
    const { fx, topUp } = await setup()
    const ledger = new LedgerIndex({ federation: fx.federation.publicKey })
    await ledger.ingestMany([...fx.statements, topUp.bytes])
    const fresh = new ChainSink(ledger)
    expect(await fresh.ingestMany([...fx.statements, forge(topUp.bytes)])).toContain('rejected')
    expect(fresh.has(toHex(topUp.hash))).toBe(false)
    const outcomes = await fresh.ingestMany([topUp.bytes])
    expect(outcomes).toEqual(['applied'])
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

// The same signatures around an unsigned part with one byte appended: the envelope, kind, device and
// deviceSeq still read (the sink's header read), the body does not decode (trailing byte).
function trailingByte(bytes: Uint8Array): Uint8Array {
  let length = 0
  let at = 0
  for (let shift = 0; ; shift += 7) {
    const b = bytes[at++]!
    length += (b & 0x7f) * 2 ** shift
    if (b < 0x80) break
  }
  const unsigned = [...bytes.subarray(at, at + length), 0]
  const varint: number[] = []
  for (let n = unsigned.length; ; n >>>= 7) {
    varint.push(n >= 0x80 ? (n & 0x7f) | 0x80 : n)
    if (n < 0x80) break
  }
  return Uint8Array.from([...varint, ...unsigned, ...bytes.subarray(at + length)])
}

describe('ChainSink reads only the header, and still refuses a body that does not decode', () => {
  it('with the ledger (its verdict), one by one and in a batch; the genuine record applies after', async () => {
    const { sink, ledger, topUp } = await setup()
    const bad = trailingByte(topUp.bytes)
    const before = sink.size
    expect(await sink.ingest(bad)).toBe('rejected')
    expect(await sink.ingestMany([bad])).toEqual(['rejected'])
    expect(sink.size).toBe(before)
    expect(sink.rejected).toBe(2)
    expect(ledger.counts().valid).toBe(0)
    // counted by the sink, not kept by the ledger each time it comes again (as before the header read)
    expect(ledger.rejected()).toEqual([])
    expect(await sink.ingestMany([topUp.bytes])).toEqual(['applied'])
    expect(sink.has(toHex(topUp.hash))).toBe(true)
  })

  it('without a ledger (verifySignatures decodes the whole bytes), and no chain place is taken', async () => {
    const { fx, topUp } = await setup()
    const sink = new ChainSink()
    const bad = trailingByte(topUp.bytes)
    expect(await sink.ingest(bad)).toBe('rejected')
    expect(await sink.ingestMany([bad])).toEqual(['rejected'])
    expect(sink.size).toBe(0)
    const device = toHex(fx.venues[0]!.cashier.key.publicKey)
    expect(sink.chainOf(device)).toEqual({ max: 0, complete: true, forks: [] })
    expect(await sink.ingest(topUp.bytes)).toBe('applied')
    expect(sink.chainOf(device)).toEqual({ max: 1, complete: true, forks: [] })
  })

  it('records of two devices in one batch land on their own chains', async () => {
    const { fx, sink, topUp } = await setup()
    const other = new DeviceChainWriter(fx.venues[0]!.admin.key)
    const second = await other.append({
      kind: 'top-up',
      chain: { card: fx.tagCards[1]!, cardSeq: 1, cardPrev: ZERO_HASH },
      asset: 'EUR',
      amount: 100,
      method: 'cash',
    })
    expect(await sink.ingestMany([topUp.bytes, second.bytes])).toEqual(['applied', 'applied'])
    const a = toHex(fx.venues[0]!.cashier.key.publicKey)
    const b = toHex(fx.venues[0]!.admin.key.publicKey)
    expect(sink.devices.get(a)!.seqs.get(1)).toBe(toHex(topUp.hash))
    expect(sink.devices.get(b)!.seqs.get(1)).toBe(toHex(second.hash))
  })
})

describe('ChainSink snapshot', () => {
  async function forkedSink() {
    const { fx, sink, topUp } = await setup()
    // The same device key signs a second record at deviceSeq 1 (a cloned till): a device fork.
    const clone = new DeviceChainWriter(fx.venues[0]!.cashier.key)
    const other = await clone.append({
      kind: 'top-up',
      chain: { card: fx.tagCards[2]!, cardSeq: 1, cardPrev: ZERO_HASH },
      asset: 'EUR',
      amount: 500,
      method: 'cash',
    })
    expect(await sink.ingest(topUp.bytes)).toBe('applied')
    expect(await sink.ingest(other.bytes)).toBe('applied')
    expect(await sink.ingest(new Uint8Array([1, 2, 3]))).toBe('rejected')
    return { fx, sink, topUp, other }
  }

  it('restores every applied hash (the forked record too), the chains, forks and counters', async () => {
    const { fx, sink, topUp, other } = await forkedSink()
    const device = toHex(fx.venues[0]!.cashier.key.publicKey)
    expect(sink.chainOf(device)).toEqual({ max: 1, complete: true, forks: [1] })
    const restored = new ChainSink()
    restored.restore(sink.snapshot())
    expect(restored.size).toBe(sink.size)
    expect(restored.digest()).toBe(sink.digest())
    expect(restored.has(toHex(other.hash))).toBe(true)
    expect(restored.devices.get(device)!.seqs.get(1)).toBe(toHex(topUp.hash))
    expect(restored.chainOf(device)).toEqual(sink.chainOf(device))
    expect([...restored.statements].sort()).toEqual([...sink.statements].sort())
    expect(restored.rejected).toBe(1)
    // a restored sink knows the forked record: it is a duplicate, not a second fork
    expect(await restored.ingest(other.bytes)).toBe('duplicate')
    expect(restored.chainOf(device).forks).toEqual([1])
  })

  it('snapshotParts: the bytes of snapshot(), unchanged by hashes added while they are written', async () => {
    const fx = await createFixture('sink-parts')
    const till = new DeviceChainWriter(fx.venues[0]!.cashier.key)
    const records: Uint8Array[] = []
    // past one 2,048-hash page of the store, so the parts hold a full page and a partial one
    for (let i = 0; i < 2060; i++)
      records.push(
        (await till.append({ kind: 'till-close-out', counted: [{ asset: 'EUR', amount: i }] })).bytes,
      )
    const sink = new ChainSink()
    expect(new Set(await sink.ingestMany(records.slice(0, 2040)))).toEqual(new Set(['applied']))
    const before = sink.snapshot()
    const parts = sink.snapshotParts()
    const joined = () => Buffer.concat(parts)
    expect(new Uint8Array(joined())).toEqual(before)
    // the checkpoint writes the parts after other awaits: records applied meanwhile fill the same page on
    expect(new Set(await sink.ingestMany(records.slice(2040)))).toEqual(new Set(['applied']))
    expect(new Uint8Array(joined())).toEqual(before)
    const restored = new ChainSink()
    restored.restore(new Uint8Array(joined()))
    expect(restored.size).toBe(2040)
    expect(new Uint8Array(Buffer.concat(sink.snapshotParts()))).toEqual(sink.snapshot())
  })

  it('still restores a format 1 (JSON) snapshot written before the upgrade', async () => {
    const { fx, topUp } = await setup()
    const device = toHex(fx.venues[0]!.cashier.key.publicKey)
    const statement = toHex(sha256(fx.statements[0]!))
    const json = {
      v: 1,
      statements: [],
      devices: { [device]: [[1, toHex(topUp.hash)]] },
      forks: { [device]: [1] },
      rejected: 3,
    }
    const restored = new ChainSink()
    restored.restore(new TextEncoder().encode(JSON.stringify(json)))
    expect(restored.has(toHex(topUp.hash))).toBe(true)
    expect(restored.has(statement)).toBe(false)
    expect(restored.chainOf(device)).toEqual({ max: 1, complete: true, forks: [1] })
    expect(restored.rejected).toBe(3)
  })

  it('damaged bytes are a SinkSnapshotError, never a partial restore of garbage', async () => {
    const { sink } = await forkedSink()
    const good = sink.snapshot()
    const cases = [
      good.subarray(0, good.length - 3), // truncated
      new Uint8Array([...good, 0]), // trailing byte
      Uint8Array.from(good, (b, i) => (i === 6 ? 9 : b)), // unknown version
      new TextEncoder().encode('{"v":1,'), // broken JSON
      new Uint8Array(10),
    ]
    for (const bytes of cases) expect(() => new ChainSink().restore(bytes)).toThrow(SinkSnapshotError)
    // an index out of range (the first statement's index bumped past the hash count)
    const view = new DataView(good.buffer.slice(0))
    const hashes = view.getUint32(7, true)
    view.setUint32(7 + 4 + hashes * 32 + 4, hashes, true)
    expect(() => new ChainSink().restore(new Uint8Array(view.buffer))).toThrow(/out of range/)
  })
})
