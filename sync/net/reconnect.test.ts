// Certified peers stay connected: a connection that drops (a missed ping on a loaded till, a Wi-Fi blip)
// is redialled by libp2p's reconnect queue because the handshake tagged the peer keep-alive; a peer the
// node dropped for misbehaving is not redialled.
import { afterEach, describe, expect, it } from 'vitest'
import { MalformedFrameError } from './errors.ts'
import { startTestPeers, type TestPeer } from './testing.ts'

let peers: TestPeer[] = []
afterEach(async () => {
  await Promise.all(peers.map((p) => p.stop()))
  peers = []
})

const connected = (a: TestPeer, b: TestPeer) =>
  a.host.getConnections().some((c) => c.remotePeer.equals(b.host.peerId) && c.status === 'open')

describe('keep-alive of certified peers', () => {
  it('redials a certified peer after its connection drops, and the handshake passes again', async () => {
    peers = await startTestPeers(2)
    const [a, b] = peers as [TestPeer, TestPeer]
    expect(connected(a, b)).toBe(true)
    const again = a.access.whenAuthenticated(b.host.peerId.toString(), 30_000)
    // An abort, as the connection monitor does on a ping timeout (not a polite hang-up by the peer).
    for (const c of a.host.getConnections(b.host.peerId)) c.abort(new Error('ping timed out (test)'))
    await expect.poll(() => connected(a, b), { timeout: 30_000 }).toBe(false)
    await again
    await expect.poll(() => connected(a, b) && connected(b, a), { timeout: 30_000 }).toBe(true)
  })

  it('does not redial a peer it dropped for misbehaving', async () => {
    peers = await startTestPeers(2)
    const [a, b] = peers as [TestPeer, TestPeer]
    const bId = b.host.peerId.toString()
    const aId = a.host.peerId.toString()
    // Both sides drop each other (as each would on garbage): neither may redial.
    a.access.drop(bId, new MalformedFrameError('garbage (test)'))
    b.access.drop(aId, new MalformedFrameError('garbage (test)'))
    await expect.poll(() => connected(a, b) || connected(b, a), { timeout: 30_000 }).toBe(false)
    const tags = async (p: TestPeer, other: TestPeer) => [
      ...(await p.host.peerStore.get(other.host.peerId)).tags.keys(),
    ]
    expect(await tags(a, b)).not.toContain('keep-alive-lakou')
    expect(await tags(b, a)).not.toContain('keep-alive-lakou')
    // Past the reconnect queue's first retry (1 s) and then some: still apart.
    await new Promise((r) => setTimeout(r, 3000))
    expect(connected(a, b) || connected(b, a)).toBe(false)
  })
})
