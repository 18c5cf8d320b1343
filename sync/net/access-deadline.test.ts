// The hello deadline: on time it expires; when this process's own event loop was blocked past it, the peer
// gets more time (what it sent may be unread in the socket) instead of being dropped.
import { describe, expect, it } from 'vitest'
import { deadline } from './access.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
function blockFor(ms: number): void {
  const end = performance.now() + ms
  while (performance.now() < end) {
    // the event loop is stuck here, as a flooded till's is
  }
}

describe('hello deadline', () => {
  it('expires once when the event loop was free', async () => {
    let expired = 0
    deadline(40, () => expired++)
    await sleep(20)
    expect(expired).toBe(0)
    await sleep(500)
    expect(expired).toBe(1)
  })

  it('a timer that fires late (the loop was blocked) grants more time before expiring', async () => {
    let expired = 0
    deadline(40, () => expired++)
    blockFor(200) // the deadline passes while nothing can run
    const atFirstFiring = await new Promise<number>((r) => setTimeout(() => r(expired), 0))
    expect(atFirstFiring).toBe(0) // the late timer did not expire: a grace of 20 ms began
    await sleep(300)
    expect(expired).toBe(1)
  })

  it('graces are bounded: a loop blocked at every deadline still expires', async () => {
    let expired = 0
    deadline(40, () => expired++)
    for (let i = 0; i < 6 && expired === 0; i++) {
      blockFor(200)
      await sleep(0)
    }
    await sleep(100)
    expect(expired).toBe(1)
  })

  it('cancelled, it never expires', async () => {
    let expired = 0
    const cancel = deadline(30, () => expired++)
    cancel()
    await sleep(100)
    expect(expired).toBe(0)
  })
})
