// Local state snapshot: round trip gives identical views, corruption is a typed error, ingest goes on.
import { describe, expect, it } from 'vitest'
import { sha256 } from './crypto.ts'
import {
  concatBytes,
  createFixture,
  LedgerIndex,
  LedgerSnapshotError,
  type SignedRecord,
  toHex,
} from './mod.ts'
import { snapshotLayout } from './snapshot.ts'
import { type Kit, makeKit as makeDefaultKit } from './test-kit.ts'

const makeKit = async (seed: string) => makeDefaultKit(seed, await createFixture(seed, { tagCards: 6 }))

/** A history with every outcome: valid, a card fork, a rule refusal, a forged signature, garbage, pending. */
async function busyHistory(kit: Kit) {
  const cafe = kit.fx.venues[0]!
  const bar = kit.fx.venues[1]!
  const till = kit.fx.writer(cafe.cashier)
  const other = kit.fx.writer(bar.cashier)
  const [a, b] = kit.fx.tagCards
  const topUp = await kit.topUp(till, a!, 1000)
  const topUpB = await kit.topUp(till, b!, 500)
  const sale = (w: typeof till, card: Uint8Array, price: number) =>
    w.append({
      kind: 'sale',
      chain: kit.chain(card),
      lines: [{ product: 'beer', quantity: 1, unitPrice: price, asset: 'EUR', vatRate: 2000 }],
      payments: [{ method: 'card', asset: 'EUR', amount: price }],
    })
  // the same tag card position spent on two tills: a fork
  const forkA = await sale(till, a!, 300)
  const forkB = await sale(other, a!, 400)
  kit.advance(a!, forkA)
  const tooMuch = await sale(till, b!, 9000) // floor
  // forged on a till of its own (a refused signature keeps that till's later records waiting)
  const forged = await sale(kit.fx.writer(bar.cashier), b!, 100)
  const forgedBytes = forged.bytes.slice()
  forgedBytes[forgedBytes.length - 1]! ^= 1
  // a record whose device predecessor is withheld stays pending
  const withheld = await kit.topUp(other, kit.fx.tagCards[2]!, 200)
  const waiting = await kit.topUp(other, kit.fx.tagCards[3]!, 100)
  await kit.index.ingestMany([
    ...[topUp, topUpB, forkA, forkB, tooMuch, waiting].map((r) => r.bytes),
    forgedBytes,
    new Uint8Array([1, 2, 3]),
  ])
  return { withheld, waiting }
}

/** The same bytes with a recomputed trailing SHA-256 (the hash check passes, the content is judged). */
function rehash(bytes: Uint8Array): Uint8Array {
  const body = bytes.subarray(0, bytes.length - 32)
  return concatBytes(body, sha256(body))
}

function views(index: LedgerIndex) {
  return {
    summary: index.snapshot(),
    rejected: index.rejected().map((r) => [r.hash, r.error.name, r.error.message, toHex(r.bytes)]),
    pending: index.pending(),
    gaps: index.deviceGaps(),
    forks: index.forks().map((f) => [f.type, f.subject, f.seq, f.hashes]),
    valid: [...index.validRecords()].map((r) => r.hash),
  }
}

describe('local state snapshot', () => {
  it('round trip gives identical views, and ingest continues after the restore', async () => {
    const kit = await makeKit('snapshot-round-trip')
    const { withheld, waiting } = await busyHistory(kit)
    const before = views(kit.index)
    expect(before.forks.length).toBe(1)
    expect(before.rejected.length).toBe(3) // floor, forged signature, garbage
    expect(before.pending.map((p) => p.hash)).toEqual([toHex(waiting.hash)])

    const restored = LedgerIndex.fromSnapshot(kit.index.exportSnapshot(), {
      federation: kit.fx.federation.publicKey,
    })
    expect(views(restored)).toEqual(before)
    expect(restored.checkInvariants()).toMatchObject({ ok: true })
    // a snapshot of the restored index is the same bytes
    expect(toHex(restored.exportSnapshot())).toBe(toHex(kit.index.exportSnapshot()))

    // the withheld predecessor arrives: both indexes move on identically
    const more: SignedRecord = await kit.topUp(
      kit.fx.writer(kit.fx.venues[0]!.cashier),
      kit.fx.tagCards[4]!,
      50,
    )
    for (const index of [kit.index, restored]) {
      const res = await index.ingestMany([withheld.bytes, more.bytes])
      expect(res.map((r) => r.status)).toEqual(['valid', 'valid'])
      expect(index.status(waiting.hash)).toBe('valid')
      expect(index.pending()).toEqual([])
    }
    expect(views(restored)).toEqual(views(kit.index))
    expect(restored.balance(kit.fx.tagCards[3]!, 'EUR')).toBe(100)
    // a record the snapshot holds is a duplicate, not applied twice
    expect((await restored.ingest(withheld.bytes)).status).toBe('duplicate')
  })

  it('the parts (state, record chunks as views, trailer) are the same bytes as the single buffer', async () => {
    const kit = await makeKit('snapshot-parts')
    await busyHistory(kit)
    const whole = kit.index.exportSnapshot()
    const parts = kit.index.exportSnapshotParts()
    expect(parts.length).toBeGreaterThanOrEqual(3)
    expect(parts.at(-1)!.length).toBe(32)
    expect(toHex(concatBytes(...parts))).toBe(toHex(whole))
    // with a caller's incremental hasher (a node passes node:crypto's createHash)
    const seen: Uint8Array[] = []
    const hashed = kit.index.exportSnapshotParts(() => ({
      update: (b: Uint8Array) => seen.push(b),
      digest: () => sha256(concatBytes(...seen)),
    }))
    expect(toHex(concatBytes(...hashed))).toBe(toHex(whole))
    // records applied after the export do not change the parts already taken (append-only storage)
    const frozen = parts.map((p) => p.slice())
    const later = await kit.topUp(kit.fx.writer(kit.fx.venues[0]!.cashier), kit.fx.tagCards[5]!, 70)
    expect((await kit.ingest(later))[0]!.status).toBe('valid')
    expect(parts.map((p) => toHex(p))).toEqual(frozen.map((p) => toHex(p)))
    const restored = LedgerIndex.fromSnapshot(concatBytes(...parts), {
      federation: kit.fx.federation.publicKey,
    })
    expect(restored.counts()).toEqual(
      LedgerIndex.fromSnapshot(whole, { federation: kit.fx.federation.publicKey }).counts(),
    )
  })

  it('keeps the checkpoint an index started from', async () => {
    const kit = await makeKit('snapshot-checkpoint')
    const cafe = kit.fx.venues[0]!
    const w = kit.fx.writer(cafe.cashier)
    const first = await kit.topUp(w, kit.fx.tagCards[0]!, 700)
    await kit.ingest(first)
    const cp = await kit.index.exportCheckpoint(kit.fx.writer(cafe.relay))
    const fresh = new LedgerIndex({ federation: kit.fx.federation.publicKey })
    await fresh.ingestMany(kit.fx.statements)
    await fresh.importCheckpoint(cp.bytes)
    const next = await kit.topUp(w, kit.fx.tagCards[0]!, 100)
    await fresh.ingestMany([next.bytes])
    const restored = LedgerIndex.fromSnapshot(fresh.exportSnapshot(), {
      federation: kit.fx.federation.publicKey,
    })
    expect(views(restored)).toEqual(views(fresh))
    expect(restored.balance(kit.fx.tagCards[0]!, 'EUR')).toBe(800)
    expect((await restored.ingest(first.bytes)).status).toBe('covered')
  })

  it('a corrupted, truncated or foreign snapshot raises LedgerSnapshotError', async () => {
    const kit = await makeKit('snapshot-corrupt')
    await busyHistory(kit)
    const good = kit.index.exportSnapshot()
    const opts = { federation: kit.fx.federation.publicKey }
    const codeOf = (bytes: Uint8Array, o = opts) => {
      try {
        LedgerIndex.fromSnapshot(bytes, o)
        return 'restored'
      } catch (err) {
        expect(err).toBeInstanceOf(LedgerSnapshotError)
        expect((err as Error).name).toBe('LedgerSnapshotError')
        return (err as LedgerSnapshotError).code
      }
    }
    expect(codeOf(good)).toBe('restored')
    // every single flipped bit is detected (sampled positions, all over the snapshot)
    for (let i = 0; i < good.length; i += Math.max(1, Math.floor(good.length / 97))) {
      const bad = good.slice()
      bad[i]! ^= 0x10
      expect(codeOf(bad), `byte ${i}`).toBe('corrupt')
    }
    expect(codeOf(good.subarray(0, good.length - 1))).toBe('corrupt')
    expect(codeOf(new Uint8Array(0))).toBe('corrupt')
    const otherFederation = (await makeKit('snapshot-other')).fx.federation.publicKey
    expect(codeOf(good, { federation: otherFederation })).toBe('federation-mismatch')

    // an intact file of another format (format 1 stored the record list; the node then re-ingests)
    const magic = 'LAKOU-SNAPSHOT'.length
    expect(good[magic]).toBe(3)
    for (const version of [0, 1, 4, 255]) {
      const other = good.slice()
      other[magic] = version
      expect(codeOf(rehash(other))).toBe('version')
    }
    // damaged content under a valid hash (written by a broken build): a typed error or a restore (a
    // changed record byte is not checked again: the file is trusted), never another exception (sampled
    // positions all over the file)
    const restoredOrCode = new Set<string>()
    const step = Math.max(1, Math.floor(good.length / 400))
    for (let i = magic + 1; i < good.length - 32; i += step) {
      for (const flip of [0x01, 0x80]) {
        const bad = good.slice()
        bad[i]! ^= flip
        restoredOrCode.add(codeOf(rehash(bad)))
      }
    }
    expect([...restoredOrCode].sort()).toEqual(['corrupt', 'federation-mismatch', 'restored'])
    expect(codeOf(rehash(good.slice(0, good.length - 40)))).toBe('corrupt')
  })

  it('format 3 read in parts (head, then each chunk in its own buffer), and format 2 still read', async () => {
    const kit = await makeKit('snapshot-layout')
    await busyHistory(kit)
    const opts = { federation: kit.fx.federation.publicKey }
    const good = kit.index.exportSnapshot()
    const before = views(LedgerIndex.fromSnapshot(good, opts))
    const layout = snapshotLayout(good.subarray(0, 4096))!
    expect(layout.chunkLengths.length).toBeGreaterThan(0)
    const head = good.slice(0, layout.headLength)
    let o = layout.headLength
    const chunks = layout.chunkLengths.map((len) => {
      o += len
      return good.slice(o - len, o)
    })
    expect(o).toBe(good.length - 32)
    expect(views(LedgerIndex.fromSnapshot({ head, chunks }, opts))).toEqual(before)
    // parts that do not match their layout: typed errors
    const codeOf = (parts: { head: Uint8Array; chunks: Uint8Array[] }) => {
      try {
        LedgerIndex.fromSnapshot(parts, opts)
        return 'restored'
      } catch (err) {
        expect(err).toBeInstanceOf(LedgerSnapshotError)
        return (err as LedgerSnapshotError).code
      }
    }
    expect(codeOf({ head, chunks: chunks.slice(1) })).toBe('corrupt')
    expect(codeOf({ head: head.subarray(0, head.length - 1), chunks })).toBe('corrupt')
    expect(codeOf({ head, chunks: [...chunks.slice(0, -1), chunks.at(-1)!.subarray(1)] })).toBe('corrupt')
    expect(snapshotLayout(good.subarray(0, 8))).toBeUndefined()
    // format 2: the same without the layout line
    const magic = 'LAKOU-SNAPSHOT'.length
    const line = 4 + 4 + 4 * layout.chunkLengths.length
    const v2 = concatBytes(
      good.subarray(0, magic),
      new Uint8Array([2]),
      good.subarray(magic + 1 + line, good.length - 32),
    )
    expect(snapshotLayout(v2)).toBeUndefined()
    expect(views(LedgerIndex.fromSnapshot(rehash(concatBytes(v2, new Uint8Array(32))), opts))).toEqual(before)
  })

  it('a snapshot taken while records are being verified leaves them out; they come again', async () => {
    const kit = await makeKit('snapshot-in-flight')
    const till = kit.fx.writer(kit.fx.venues[0]!.cashier)
    const batch: Uint8Array[] = []
    for (let i = 0; i < 90; i++) batch.push((await kit.topUp(till, kit.fx.tagCards[i % 6]!, 10 + i)).bytes)
    const ingesting = kit.index.ingestMany(batch)
    // the first records' signatures are being checked now (the rest wait for a verification slot)
    const saved = kit.index.exportSnapshot()
    await ingesting
    const restored = LedgerIndex.fromSnapshot(saved, { federation: kit.fx.federation.publicKey })
    expect(restored.counts().valid).toBe(0)
    expect(restored.pending()).toEqual([])
    const again = await restored.ingestMany(batch)
    expect(again.every((r) => r.status === 'valid')).toBe(true)
    expect(views(restored)).toEqual(views(kit.index))
  })

  it('validRecords: every valid record once, in device then deviceSeq order', async () => {
    const kit = await makeKit('snapshot-valid-records')
    await busyHistory(kit)
    const list = [...kit.index.validRecords()]
    expect(list.length).toBe(kit.index.counts().valid)
    expect(new Set(list.map((r) => r.hash)).size).toBe(list.length)
    for (let i = 1; i < list.length; i++) {
      const p = list[i - 1]!.record
      const c = list[i]!.record
      const order = toHex(p.device).localeCompare(toHex(c.device)) || p.deviceSeq - c.deviceSeq
      expect(order).toBeLessThanOrEqual(0)
    }
    for (const r of list) expect(kit.index.status(r.hash)).toBe('valid')
  })
})
