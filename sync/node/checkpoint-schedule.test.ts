import { describe, expect, it } from 'vitest'
import { CheckpointSchedule, checkpointIntervals } from './checkpoint-schedule.ts'

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

describe('CheckpointSchedule', () => {
  const clock = () => {
    let t = 0
    return { now: () => t, advance: (ms: number) => (t += ms) }
  }

  it('is due one spacing after the last checkpoint, the spacing grown with the records held', () => {
    const c = clock()
    const s = new CheckpointSchedule({ baseMs: 60_000, now: c.now, random: () => 0.5 })
    c.advance(59_999)
    expect(s.due(20_000, false)).toBe(false)
    c.advance(1)
    expect(s.due(20_000, false)).toBe(true)
    // at 200k records: four base intervals
    expect(s.due(200_000, false)).toBe(false)
    c.advance(180_000)
    expect(s.due(200_000, false)).toBe(true)
    s.written()
    expect(s.due(200_000, false)).toBe(false)
    c.advance(240_000)
    expect(s.due(200_000, false)).toBe(true)
  })

  it('jitters each spacing per node, so nodes started together do not checkpoint together', () => {
    const c = clock()
    const early = new CheckpointSchedule({ baseMs: 60_000, now: c.now, random: () => 0 })
    const late = new CheckpointSchedule({ baseMs: 60_000, now: c.now, random: () => 0.999 })
    expect(early.spacingMs(200_000)).toBe(180_000) // 240 s - 25 %
    expect(late.spacingMs(200_000)).toBeCloseTo(299_880) // 240 s + ~25 %
    c.advance(200_000)
    expect([early.due(200_000, false), late.due(200_000, false)]).toEqual([true, false])
    // each checkpoint draws the next spacing anew
    let r = 0
    const s = new CheckpointSchedule({ baseMs: 1000, now: c.now, random: () => [0, 0.999][r++ % 2]! })
    expect(s.spacingMs(0)).toBe(750)
    s.written()
    expect(s.spacingMs(0)).toBeCloseTo(1249.5)
  })

  it('puts a due checkpoint off while the node is busy, at most one more spacing', () => {
    const c = clock()
    const s = new CheckpointSchedule({ baseMs: 60_000, now: c.now, random: () => 0.5 })
    c.advance(60_000)
    expect(s.due(0, true)).toBe(false)
    expect(s.due(0, false)).toBe(true)
    c.advance(59_999)
    expect(s.due(0, true)).toBe(false)
    c.advance(1)
    expect(s.due(0, true)).toBe(true)
  })

  it('is asked a quarter of the base interval apart, at most 10 s', () => {
    expect(new CheckpointSchedule({ baseMs: 1000 }).checkEveryMs).toBe(250)
    expect(new CheckpointSchedule({ baseMs: 60_000 }).checkEveryMs).toBe(10_000)
  })
})
