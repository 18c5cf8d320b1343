import { describe, expect, it } from 'vitest'
import { checkpointIntervals } from './checkpoint-schedule.ts'

describe('checkpointIntervals', () => {
  it('one base interval up to 50k records, one more per 50k above, at most 10', () => {
    expect(checkpointIntervals(0)).toBe(1)
    expect(checkpointIntervals(20_000)).toBe(1)
    expect(checkpointIntervals(50_000)).toBe(1)
    expect(checkpointIntervals(50_001)).toBe(2)
    expect(checkpointIntervals(200_016)).toBe(5)
    expect(checkpointIntervals(200_000)).toBe(4)
    expect(checkpointIntervals(10_000_000)).toBe(10)
  })
})
