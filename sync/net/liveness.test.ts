// Connections are pinged on the peer's time: a peer that stops answering is cut off, a ping that is late only
// because this process's own loop was stuck is not (libp2p's monitor aborted those: wall-clock timeout).
import type { Libp2p } from '@libp2p/interface'
import { describe, expect, it } from 'vitest'
import { connectionCloseReasons } from './host.ts'
import { PING_PROTOCOL, watchLiveness } from './liveness.ts'
import { testHosts } from './test-hosts.ts'

const { cleanup, host } = testHosts()

/** `peer` answers pings after `delayMs` (never, with Infinity). */
async function answerPingsAfter(peer: Libp2p, delayMs: number): Promise<void> {
  await peer.unhandle(PING_PROTOCOL)
  await peer.handle(
    PING_PROTOCOL,
    async (stream) => {
      for await (const chunk of stream) {
        if (delayMs === Number.POSITIVE_INFINITY) continue
        await new Promise((r) => setTimeout(r, delayMs))
        stream.send(chunk)
      }
      await stream.close().catch(() => {})
    },
    { maxInboundStreams: 16 },
  )
}

const pingTimeouts = (h: Libp2p) =>
  [...connectionCloseReasons(h)].filter(([reason]) => reason.includes('PingTimeoutError')).length

describe('liveness pings (real libp2p)', () => {
  it('aborts a connection whose peer stops answering pings', async () => {
    const [a, b] = [await host(), await host()]
    await answerPingsAfter(b, Number.POSITIVE_INFINITY)
    cleanup.push(watchLiveness(a, { intervalMs: 100, timeoutMs: 500 }))
    await a.dial(b.getMultiaddrs()[0]!)
    await expect.poll(() => a.getConnections(b.peerId).length, { timeout: 10_000 }).toBe(0)
    expect(pingTimeouts(a)).toBe(1)
  }, 20_000)

  it('keeps a connection whose ping was late only because this loop was stuck', async () => {
    const [a, b] = [await host(), await host()]
    // b answers well within the deadline; a ping is in flight most of the time (0.7 s of every ~0.8 s)
    await answerPingsAfter(b, 700)
    cleanup.push(watchLiveness(a, { intervalMs: 100, timeoutMs: 1_500 }))
    await a.dial(b.getMultiaddrs()[0]!)
    await new Promise((r) => setTimeout(r, 400))
    const end = performance.now() + 3_000
    while (performance.now() < end) {
      // a's loop is stuck for twice the ping deadline, as a flooded till's is
    }
    await new Promise((r) => setTimeout(r, 2_000))
    expect(pingTimeouts(a)).toBe(0)
    expect(a.getConnections(b.peerId).map((c) => c.status)).toEqual(['open'])
  }, 20_000)
})
