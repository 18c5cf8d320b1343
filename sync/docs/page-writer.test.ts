import { describe, expect, it } from 'vitest'
import { DEVICES_PER_INTERVAL, pageBatchInterval } from './page-writer.ts'

describe('page batch interval', () => {
  it('is flushMs up to DEVICES_PER_INTERVAL devices, then grows in proportion to the devices, capped', () => {
    expect(pageBatchInterval(10_000, 1)).toBe(10_000)
    expect(pageBatchInterval(10_000, DEVICES_PER_INTERVAL)).toBe(10_000)
    expect(pageBatchInterval(10_000, 2 * DEVICES_PER_INTERVAL)).toBe(20_000)
    expect(pageBatchInterval(10_000, 3 * DEVICES_PER_INTERVAL)).toBe(30_000)
    expect(pageBatchInterval(10_000, 1000)).toBe(120_000) // at most 12 x
    // the festival's venues: 20 tills + 10 history devices, 50 tills + 10
    expect(pageBatchInterval(10_000, 30)).toBe(60_000)
    expect(pageBatchInterval(10_000, 60)).toBe(120_000)
    expect(pageBatchInterval(200, 3)).toBe(200) // a small test venue keeps its interval
    expect(pageBatchInterval(200, 5)).toBe(200)
    expect(pageBatchInterval(0, 50)).toBe(0) // 0 stays one change per record
  })
})
