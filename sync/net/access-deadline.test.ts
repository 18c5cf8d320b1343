// The hello deadline counts the peer's time: wall time minus the time this process's own event loop could
// not run (its checks fired late). Fake clock: time moves only when the test says, and a "blocked loop" is
// time that passes while no timer can fire.
import { describe, expect, it } from 'vitest'
import { type DeadlineClock, deadline, peerTimeSignal } from './access.ts'

class FakeLoop implements DeadlineClock {
  t = 0
  private timers: Array<{ at: number; fn: () => void; id: number }> = []
  private nextId = 0
  now = () => this.t
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.nextId++
    this.timers.push({ at: this.t + ms, fn, id })
    return id
  }
  clearTimeout = (id: unknown) => {
    this.timers = this.timers.filter((x) => x.id !== id)
  }
  /** The loop runs freely for `ms`: every timer fires on time. */
  run(ms: number): void {
    const end = this.t + ms
    for (;;) {
      const next = this.timers.sort((a, b) => a.at - b.at)[0]
      if (!next || next.at > end) break
      this.timers.shift()
      this.t = next.at
      next.fn()
    }
    this.t = end
  }
  /** The loop is blocked for `ms` (nothing fires), then the timers that came due fire, late. */
  block(ms: number): void {
    this.t += ms
    const due = this.timers.filter((x) => x.at <= this.t)
    this.timers = this.timers.filter((x) => x.at > this.t)
    for (const x of due) x.fn()
  }
  get pending(): number {
    return this.timers.length
  }
}

describe('hello deadline (peer time)', () => {
  it('expires once, after the full time, when the loop was free', () => {
    const loop = new FakeLoop()
    let expired = 0
    deadline(10_000, () => expired++, loop)
    loop.run(9_999)
    expect(expired).toBe(0)
    loop.run(1)
    expect(expired).toBe(1)
    loop.run(60_000)
    expect(expired).toBe(1)
    expect(loop.pending).toBe(0)
  })

  it('time the loop was blocked is not charged to the peer', () => {
    const loop = new FakeLoop()
    let expired = 0
    deadline(10_000, () => expired++, loop)
    loop.run(2_000)
    loop.block(30_000) // 30 s of wall time with this process stuck: the peer's hello may sit unread
    expect(expired).toBe(0)
    loop.run(7_000) // 2 s + at most one check's worth before the block + 7 s: not yet 10 s of the peer's
    expect(expired).toBe(0)
    loop.run(1_250)
    expect(expired).toBe(1)
  })

  it('a loop starved at every check still ends the deadline after a bounded number of checks', () => {
    const loop = new FakeLoop()
    let expired = 0
    deadline(10_000, () => expired++, loop)
    let checks = 0
    while (expired === 0 && checks < 100) {
      loop.block(60_000) // every check fires a minute late (two cores shared by fifty tills, say)
      loop.run(1_250) // then one check's worth of the peer's time passes with the loop free
      checks++
    }
    expect(expired).toBe(1)
    expect(checks).toBeLessThanOrEqual(8)
  })

  it('cancelled, it never expires', () => {
    const loop = new FakeLoop()
    let expired = 0
    const cancel = deadline(10_000, () => expired++, loop)
    loop.run(5_000)
    cancel()
    loop.run(60_000)
    expect(expired).toBe(0)
    expect(loop.pending).toBe(0)
  })
})

describe('peerTimeSignal: a dial given the time of the peer', () => {
  it('aborts with a TimeoutError after the peer had its time, not while our loop was blocked', () => {
    const loop = new FakeLoop()
    const { signal } = peerTimeSignal(20_000, 'redial of x', loop)
    loop.run(5_000)
    loop.block(60_000) // a starved till: a minute of wall time, none of it the peer's
    expect(signal.aborted).toBe(false)
    loop.run(15_000 + 2_500) // the rest of the 20 s, plus at most one check's worth
    expect(signal.aborted).toBe(true)
    expect((signal.reason as Error).name).toBe('TimeoutError')
    expect((signal.reason as Error).message).toContain('redial of x')
  })

  it('cancelled once the dial is done, it never aborts and leaves no timer', () => {
    const loop = new FakeLoop()
    const { signal, cancel } = peerTimeSignal(20_000, 'redial', loop)
    loop.run(1_000)
    cancel()
    loop.run(60_000)
    expect(signal.aborted).toBe(false)
    expect(loop.pending).toBe(0)
  })
})

describe('hello deadline on the real event loop', () => {
  it('a loop blocked past the deadline does not expire it at the first turn after', async () => {
    let expired = 0
    deadline(40, () => expired++)
    const end = performance.now() + 200
    while (performance.now() < end) {
      // the event loop is stuck here, as a flooded till's is
    }
    const atFirstTurn = await new Promise<number>((r) => setTimeout(() => r(expired), 0))
    expect(atFirstTurn).toBe(0)
    await expect.poll(() => expired, { timeout: 5_000 }).toBe(1)
  })
})
