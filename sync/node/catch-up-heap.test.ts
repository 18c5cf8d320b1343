import { describe, expect, it } from 'vitest'
import { BulkIngestHeap, collectGarbage } from './catch-up-heap.ts'

describe('BulkIngestHeap', () => {
  it('caps V8 heap growth while records arrive in bulk and gives V8 its own factor back once quiet', () => {
    const set: string[] = []
    const h = new BulkIngestHeap({
      bulkPerSecond: 100,
      quietSeconds: 3,
      percent: 40,
      setFlags: (f) => set.push(f),
    })
    h.applied(50)
    h.tick() // live rate: nothing set
    expect(set).toEqual([])
    h.applied(80)
    h.applied(30)
    h.tick()
    expect(h.inBulk).toBe(true)
    expect(set).toEqual(['--heap-growing-percent=40'])
    h.applied(150)
    h.tick() // still in bulk: not set again
    h.tick()
    h.tick() // two quiet seconds
    h.applied(30)
    h.tick() // a slow second (30 >= 100 / 5) is not quiet: the count starts again
    h.tick()
    h.tick()
    expect(h.inBulk).toBe(true)
    h.tick() // third quiet second in a row
    expect(h.inBulk).toBe(false)
    expect(set).toEqual(['--heap-growing-percent=40', '--heap-growing-percent=0'])
    h.applied(500)
    h.tick()
    h.stop() // stopping in bulk resets the flag
    expect(set.at(-1)).toBe('--heap-growing-percent=0')
    expect(set).toHaveLength(4)
  })
})

describe('collectGarbage', () => {
  it('gives back a large buffer nothing references any more (a restore or export transient)', () => {
    // a full GC first, so the only difference below is the buffer
    expect(collectGarbage()).toBe(true)
    let buffer: Uint8Array | undefined = new Uint8Array(64 << 20).fill(1)
    const held = process.memoryUsage().arrayBuffers
    expect(buffer[12345]).toBe(1)
    buffer = undefined
    expect(collectGarbage()).toBe(true)
    expect(held - process.memoryUsage().arrayBuffers).toBeGreaterThan(60 << 20)
  })

  it('does nothing when switched off (LAKOU_RELEASE_GC=0, for A/B runs)', () => {
    process.env.LAKOU_RELEASE_GC = '0'
    try {
      expect(collectGarbage()).toBe(false)
    } finally {
      delete process.env.LAKOU_RELEASE_GC
    }
  })
})
