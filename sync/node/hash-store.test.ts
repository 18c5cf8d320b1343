import { describe, expect, it } from 'vitest'
import { HashStore, SeqColumn } from './hash-store.ts'
import { seededRandom } from './ledger.ts'

const SEED = 20261121

function randomHash(next: () => number): Uint8Array {
  return Uint8Array.from({ length: 32 }, () => Math.floor(next() * 256))
}

describe('HashStore', () => {
  it('finds every hash it holds by content, through many rehashes, and no other (seed printed on failure)', () => {
    const next = seededRandom(SEED)
    const store = new HashStore()
    const held = Array.from({ length: 5000 }, () => randomHash(next))
    held.forEach((h, i) => {
      expect(store.add(h), `seed ${SEED}`).toBe(i)
    })
    expect(store.size).toBe(held.length)
    held.forEach((h, i) => {
      expect(store.indexOf(new Uint8Array(h)), `seed ${SEED}`).toBe(i)
      expect(store.at(i)).toEqual(h)
    })
    for (let i = 0; i < 1000; i++) expect(store.has(randomHash(next)), `seed ${SEED}`).toBe(false)
    // compare orders like the hex strings
    for (let k = 0; k < 200; k++) {
      const [a, b] = [Math.floor(next() * held.length), Math.floor(next() * held.length)]
      const hex = (h: Uint8Array) => Buffer.from(h).toString('hex')
      expect(Math.sign(store.compare(a, b)), `seed ${SEED}`).toBe(
        Math.sign(hex(held[a]!).localeCompare(hex(held[b]!))),
      )
    }
    // adding again returns the same index and stores nothing
    expect(store.add(new Uint8Array(held[42]!))).toBe(42)
    expect(store.size).toBe(held.length)
  })

  it('reserve keeps what it holds and findable, then takes more without growing', () => {
    const next = seededRandom(SEED + 1)
    const store = new HashStore()
    const first = Array.from({ length: 300 }, () => randomHash(next))
    for (const h of first) store.add(h)
    store.reserve(10_000)
    first.forEach((h, i) => {
      expect(store.indexOf(h), `seed ${SEED + 1}`).toBe(i)
    })
    const more = Array.from({ length: 9_700 }, () => randomHash(next))
    for (const h of more) store.add(h)
    expect(store.size).toBe(10_000)
    expect(store.indexOf(more.at(-1)!)).toBe(9_999)
  })

  it('hashes that share their first four bytes (one slot) stay distinct', () => {
    const store = new HashStore()
    const hashes = Array.from({ length: 100 }, (_, i) => {
      const h = new Uint8Array(32).fill(7)
      h[31] = i
      return h
    })
    for (const h of hashes) store.add(h)
    hashes.forEach((h, i) => {
      expect(store.indexOf(h)).toBe(i)
    })
  })

  it('reads a hash at an offset of a larger buffer; refuses anything shorter than 32 bytes', () => {
    const store = new HashStore()
    const flat = new Uint8Array(96).map((_, i) => i)
    expect(store.add(flat, 32)).toBe(0)
    expect(store.indexOf(flat.slice(32, 64))).toBe(0)
    expect(store.has(flat.slice(0, 32))).toBe(false)
    expect(() => store.add(new Uint8Array(31))).toThrow(RangeError)
    expect(store.has(new Uint8Array(31))).toBe(false)
    expect(() => store.at(1)).toThrow(RangeError)
  })
})

describe('SeqColumn', () => {
  it('maps sequence numbers to indices, dense or far apart, in ascending order', () => {
    const col = new SeqColumn()
    const seqs = [1, 2, 3, 100, 5000, 2 ** 40, 70, 4]
    seqs.forEach((s, i) => {
      col.set(s, i)
    })
    expect(col.size).toBe(seqs.length)
    seqs.forEach((s, i) => {
      expect(col.get(s)).toBe(i)
    })
    expect(col.get(6)).toBeUndefined()
    expect(col.get(2 ** 41)).toBeUndefined()
    expect([...col.entries()].map(([s]) => s)).toEqual([...seqs].sort((a, b) => a - b))
    expect(col.max()).toBe(2 ** 40)
    col.set(3, 99) // overwrite: same size
    expect(col.size).toBe(seqs.length)
    expect(col.get(3)).toBe(99)
  })

  it('a far sequence number stays sparse until the chain grows to it (no huge allocation)', () => {
    const col = new SeqColumn()
    col.set(100_000, 0) // beyond the dense bound for an empty column
    for (let s = 1; s <= 30_000; s++) col.set(s, s)
    expect(col.get(100_000)).toBe(0)
    col.set(70_000, 1) // the dense part now grows past 100,000: the sparse entry moves into it
    expect(col.get(100_000)).toBe(0)
    expect(col.get(70_000)).toBe(1)
    col.set(100_000, 2)
    expect(col.size).toBe(30_002)
    expect(col.max()).toBe(100_000)
    const seqs = [...col.entries()].map(([s]) => s)
    expect(seqs.slice(-2)).toEqual([70_000, 100_000])
    expect(seqs.length).toBe(30_002)
  })
})
