// The order a ledger rebuild reads pages in: lowest page number first across devices (card chains cross
// devices, so device by device left nearly every record pending until the last page).
import { describe, expect, it } from 'vitest'
import type { FeedState } from '../docs/mod.ts'
import { rebuildOrder } from './ledger-rebuild.ts'

describe('rebuildOrder', () => {
  it('interleaves devices by page number, keeping the state order among equal numbers', () => {
    const pages: FeedState['pages'] = {}
    for (const [device, count] of [
      ['d1', 3],
      ['d2', 2],
    ] as const)
      for (let page = 0; page < count; page++)
        pages[`${device}-p${page}`] = { venueId: 'v', deviceId: device, page, indexed: 1000 }
    expect(rebuildOrder(pages).map(([id]) => id)).toEqual(['d1-p0', 'd2-p0', 'd1-p1', 'd2-p1', 'd1-p2'])
  })
})
