import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ChainWal, readEntries } from './chain-wal.ts'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
const file = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'lakou-wal-'))
  dirs.push(d)
  return path.join(d, 'chain.log')
}
const rec = (n: number) => new Uint8Array(50).fill(n)

describe('chain write-ahead log', () => {
  it('returns what was appended, in order, after a reopen; private mode', async () => {
    const f = file()
    const { wal } = await ChainWal.open(f)
    for (let i = 1; i <= 3; i++) await wal.append(rec(i))
    await wal.close()
    const { wal: again, records } = await ChainWal.open(f)
    expect(records).toEqual([rec(1), rec(2), rec(3)])
    expect(statSync(f).mode & 0o777).toBe(0o600)
    await again.close()
  })

  it('a whole log is reopened as it is (not rewritten); a missing one is created', async () => {
    const f = file()
    const { wal } = await ChainWal.open(f)
    expect(statSync(f).size).toBe(0)
    await wal.append(rec(1))
    await wal.close()
    const before = statSync(f)
    const { wal: again, records } = await ChainWal.open(f)
    expect(records).toEqual([rec(1)])
    expect(statSync(f).ino).toBe(before.ino) // not replaced by a rewrite
    await again.close()
  })

  it('ignores a torn last entry (crash mid-write) and keeps appending after the complete ones', async () => {
    const f = file()
    const { wal } = await ChainWal.open(f)
    await wal.append(rec(1))
    await wal.append(rec(2))
    await wal.close()
    const whole = readFileSync(f)
    // Simulate a crash that wrote only part of a third entry.
    appendFileSync(f, whole.subarray(0, 30))
    const { wal: w2, records } = await ChainWal.open(f)
    expect(records).toEqual([rec(1), rec(2)])
    await w2.append(rec(3))
    await w2.close()
    expect(readEntries(new Uint8Array(readFileSync(f)))).toEqual([rec(1), rec(2), rec(3)])
  })

  it('stops at a corrupt entry (checksum) and compacts to the last record', async () => {
    const f = file()
    const { wal } = await ChainWal.open(f)
    await wal.append(rec(1))
    await wal.append(rec(2))
    await wal.close()
    const bytes = new Uint8Array(readFileSync(f))
    bytes[bytes.length - 10]! ^= 0xff // flip a byte inside record 2
    expect(readEntries(bytes)).toEqual([rec(1)])
    const { wal: w2 } = await ChainWal.open(f)
    await w2.append(rec(7))
    await w2.compact(rec(7))
    expect(w2.entries).toBe(1)
    await w2.close()
    expect((await ChainWal.open(f)).records).toEqual([rec(7)])
  })
})
