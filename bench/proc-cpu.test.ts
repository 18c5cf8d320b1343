// proc-cpu: ticks read from /proc stat lines (a command name with spaces and parentheses), CPU per process
// over a window, bursts, and a real process read from outside.
import { describe, expect, it } from 'vitest'
import { type CpuSample, coresOverTime, processTicks, statTicks, windowCpu } from './proc-cpu.ts'

// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
const stat = (comm: string, utime: number, stime: number) =>
  `4242 (${comm}) S 1 4242 4242 0 -1 4194560 100 0 0 0 ${utime} ${stime} 0 0 20 0 12 0 555 1000 200`

describe('statTicks', () => {
  it('adds utime and stime, counting fields after the last parenthesis of the command name', () => {
    expect(statTicks(stat('node', 70, 5))).toBe(75)
    expect(statTicks(stat('a b) S 9 9 (x', 3, 4))).toBe(7)
  })

  it('refuses a line that is not a stat line', () => {
    expect(() => statTicks('garbage')).toThrow(/not a \/proc stat line/)
  })
})

describe('windowCpu', () => {
  const at = (s: number, ...procs: Array<[number, number] | undefined>): CpuSample => ({
    atMs: s * 1000,
    procs: procs.map((p) => (p ? { main: p[0], other: p[1] } : undefined)),
  })

  it('gives CPU per process and its main/other split over the window, and the seconds that were bursts', () => {
    // process 0: 1 tick/s on its main thread, then 30 ticks (300 ms) in the third second; process 1: 2 other ticks/s
    const samples = [
      at(0, [0, 0], [0, 0]),
      at(1, [1, 0], [0, 2]),
      at(2, [2, 0], [0, 4]),
      at(3, [32, 0], [0, 6]),
      at(4, [33, 0], [0, 8]),
    ]
    const w = windowCpu(samples)
    expect(w.seconds).toBe(4)
    expect(w.msPerS).toEqual([82.5, 20])
    expect(w.meanMsPerS).toBeCloseTo(51.25)
    expect(w.mainMsPerS).toBeCloseTo(41.25)
    expect(w.otherMsPerS).toBeCloseTo(10)
    expect(w.cores).toBeCloseTo(0.1025)
    expect(w.bursts).toEqual([{ proc: 0, atS: 2, ms: 300 }])
    expect(w.burstShare).toBeCloseTo(30 / 41)
  })

  it('counts a process that exited only up to its last reading', () => {
    const w = windowCpu([at(0, [0, 0]), at(1, [5, 0]), at(2, undefined)])
    expect(w.msPerS).toEqual([25])
    expect(() => windowCpu([at(0, [0, 0])])).toThrow(/two samples/)
  })
})

describe('processTicks', () => {
  it('reads this process from /proc, and nothing for a pid that does not exist', () => {
    const before = processTicks(process.pid)
    if (!before) return // not Linux: nothing to read
    // burn 50 ms of CPU on the main thread (CPU, not wall time: the machine may be loaded)
    const cpu0 = process.cpuUsage()
    while (process.cpuUsage(cpu0).user < 50_000) {}
    const after = processTicks(process.pid)!
    expect(after.main).toBeGreaterThan(before.main)
    expect(processTicks(2 ** 22 + 12345)).toBeUndefined()
  })
})

describe('coresOverTime', () => {
  it('gives the cores busy in each bucket, the last one possibly shorter', () => {
    const s = (sec: number, a: number, b: number): CpuSample => ({
      atMs: sec * 1000,
      procs: [
        { main: a, other: 0 },
        { main: 0, other: b },
      ],
    })
    // 2 s buckets: 0-2 s 20+0 ticks (0.1 cores), 2-4 s 100+100 ticks (1 core), 4-5 s 50 ticks (0.5 cores)
    const samples = [s(0, 0, 0), s(1, 10, 0), s(2, 20, 0), s(3, 70, 50), s(4, 120, 100), s(5, 170, 100)]
    expect(coresOverTime(samples, 2)).toEqual([0.1, 1, 0.5])
    expect(coresOverTime([], 2)).toEqual([])
  })
})
