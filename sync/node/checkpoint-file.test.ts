import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type Checkpoint,
  CheckpointFileError,
  decodeCheckpoint,
  encodeCheckpoint,
  restoreLedger,
  sha256Hex,
} from './checkpoint-file.ts'
import { createFixture, DeviceChainWriter, LedgerIndex, toHex, ZERO_HASH } from './ledger.ts'

const state = { pages: { p1: { venueId: 'v', deviceId: 'd', page: 0, indexed: 7 } } }
const sink = new Uint8Array([9, 8, 7, 6, 5])
const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('index checkpoint file', () => {
  it('round trips (format 2: header, then the sink bytes as they are)', () => {
    const cp: Checkpoint = { state, sink, ledgerTrailer: 'ab'.repeat(32) }
    const bytes = Buffer.concat(encodeCheckpoint(cp))
    const back = decodeCheckpoint(bytes)
    expect(back.state).toEqual(state)
    expect([...back.sink]).toEqual([...sink])
    expect(back.ledgerTrailer).toBe(cp.ledgerTrailer)
    expect(back.ledger).toBeUndefined()
  })

  it('still reads a format 1 checkpoint (JSON with the sink in base64)', () => {
    const v1 = { v: 1, state, snapshot: Buffer.from(sink).toString('base64'), ledger: 'cd'.repeat(32) }
    const back = decodeCheckpoint(new TextEncoder().encode(JSON.stringify(v1)))
    expect(back.state).toEqual(state)
    expect([...back.sink]).toEqual([...sink])
    expect(back.ledger).toBe(v1.ledger)
  })

  it('damaged files are a CheckpointFileError', () => {
    const good = Buffer.concat(encodeCheckpoint({ state, sink }))
    const cases = [
      good.subarray(0, 14), // header cut
      Buffer.from('{"v":1,'),
      Buffer.from('LAKOU-CKPT\u0003'),
      Buffer.from('something else entirely'),
      (() => {
        const b = Buffer.from(good)
        b.writeUInt32LE(1 << 30, 11) // header length beyond the file
        return b
      })(),
    ]
    for (const bytes of cases) expect(() => decodeCheckpoint(bytes)).toThrow(CheckpointFileError)
  })

  it('restores only the ledger snapshot the checkpoint names (by trailer or by whole-file hash)', async () => {
    const fx = await createFixture('checkpoint-file')
    const index = new LedgerIndex({ federation: fx.federation.publicKey })
    await index.ingestMany(fx.statements)
    const till = new DeviceChainWriter(fx.venues[0]!.cashier.key)
    for (const [i, card] of fx.tagCards.entries()) {
      const r = await till.append({
        kind: 'top-up',
        chain: { card, cardSeq: 1, cardPrev: ZERO_HASH },
        asset: 'EUR',
        amount: 100 + i,
        method: 'cash',
      })
      await index.ingest(r.bytes)
    }
    expect(index.counts().valid).toBe(fx.tagCards.length)
    const parts = index.exportSnapshotParts()
    expect(parts.length).toBeGreaterThan(2) // head, record chunk(s), trailer
    const bytes = Buffer.concat(parts)
    const dir = mkdtempSync(path.join(tmpdir(), 'lakou-cp-'))
    dirs.push(dir)
    const file = path.join(dir, 'ledger.snapshot')
    writeFileSync(file, bytes)
    const logs: string[] = []
    const log = (l: string) => logs.push(l)
    const federation = fx.federation.publicKey
    const byTrailer = await restoreLedger(
      file,
      { state, sink, ledgerTrailer: toHex(parts.at(-1)!) },
      federation,
      log,
    )
    expect(byTrailer?.counts()).toEqual(index.counts())
    const byHash = await restoreLedger(file, { state, sink, ledger: sha256Hex(bytes) }, federation, log)
    expect(byHash?.counts().statements).toBe(index.counts().statements)
    expect(logs).toEqual([])
    // another snapshot than the one named (a crash between the two writes), or none named
    expect(await restoreLedger(file, { state, sink, ledgerTrailer: '00'.repeat(32) }, federation, log)).toBe(
      undefined,
    )
    expect(await restoreLedger(file, { state, sink }, federation, log)).toBeUndefined()
    expect(await restoreLedger(`${file}.gone`, { state, sink, ledger: 'x' }, federation, log)).toBeUndefined()
    expect(logs.length).toBe(3)
    expect(logs[0]).toMatch(/not the one written with the checkpoint/)
    // read in parts: a damaged record byte under the right trailer, a truncated file
    const damaged = Buffer.from(bytes)
    damaged[damaged.length - 40]! ^= 1
    writeFileSync(file, damaged)
    const named = { state, sink, ledgerTrailer: toHex(parts.at(-1)!) }
    expect(await restoreLedger(file, named, federation, log)).toBeUndefined()
    expect(logs.at(-1)).toMatch(/does not match its hash/)
    writeFileSync(file, bytes.subarray(0, bytes.length - 100))
    expect(await restoreLedger(file, named, federation, log)).toBeUndefined()
    expect(logs.at(-1)).toMatch(/not the one written|does not match|ended/)
  })
})
