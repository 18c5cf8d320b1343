// Small pure pieces: token bucket, share config, echo floor, peer status path.
import type { DocumentId, PeerId as RepoPeerId } from '@automerge/automerge-repo/slim'
import type { Connection, Libp2p } from '@libp2p/interface'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PeerPrincipal } from './access.ts'
import { preferredConnection } from './connections.ts'
import { ECHO_PROTOCOL, measureEcho, serveEcho } from './echo.ts'
import { AUTOMERGE_PROTOCOL, Libp2pNetworkAdapter } from './libp2p-network-adapter.ts'
import { PeerBudget, TokenBucket } from './rate-limit.ts'
import { createShareConfig } from './share-policy.ts'
import { PeerStatusTracker } from './status.ts'
import { connectAll, startTestPeers, type TestPeer } from './testing.ts'

describe('TokenBucket', () => {
  it('allows the burst, refuses beyond it, refills with time', () => {
    let now = 0
    const bucket = new TokenBucket({ perSecond: 10, burst: 3 }, () => now)
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false])
    now += 100 // one token
    expect([bucket.take(), bucket.take()]).toEqual([true, false])
    now += 10_000
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false])
  })
})

describe('PeerBudget', () => {
  it('throttles a few large frames on bytes even when the frame budget has room', () => {
    let now = 0
    const budget = new PeerBudget(
      { perSecond: 1_000, burst: 1_000, bytesPerSecond: 1_000, burstBytes: 3_000 },
      1_000,
      () => now,
    )
    expect([budget.admit(1_000), budget.admit(1_000), budget.admit(1_000)]).toEqual([
      undefined,
      undefined,
      undefined,
    ])
    expect(budget.admit(1_000)).toBe('bytes')
    now += 1_000 // one second refills 1,000 bytes
    expect([budget.admit(1_000), budget.admit(1)]).toEqual([undefined, 'bytes'])
  })

  it('counts frames too, and never sets a byte burst below one maximum-size frame', () => {
    const budget = new PeerBudget({ perSecond: 1, burst: 2, burstBytes: 10 }, 500, () => 0)
    expect(budget.limit.burstBytes).toBe(500)
    expect([budget.admit(500), budget.admit(0), budget.admit(0)]).toEqual([undefined, undefined, 'frames'])
  })
})

describe('preferredConnection', () => {
  const conn = (peer: string, status: string, limited: boolean, id: string) =>
    ({
      id,
      remotePeer: { toString: () => peer },
      status,
      limits: limited ? { bytes: 1n } : undefined,
    }) as unknown as Connection
  const host = (connections: Connection[]) =>
    ({ getConnections: () => connections }) as Pick<Libp2p, 'getConnections'>

  it("picks the peer's open connection, direct before relayed", () => {
    const picked = preferredConnection(
      host([
        conn('other', 'open', false, 'o'),
        conn('p', 'closing', false, 'closing'),
        conn('p', 'open', true, 'relayed'),
        conn('p', 'open', false, 'direct'),
      ]),
      'p',
    )
    expect(picked?.id).toBe('direct')
    expect(preferredConnection(host([conn('p', 'open', true, 'relayed')]), 'p')?.id).toBe('relayed')
    expect(preferredConnection(host([conn('p', 'closed', false, 'x')]), 'p')).toBeUndefined()
  })
})

describe('createShareConfig', () => {
  const key = new Uint8Array(32)
  const principals: Record<string, PeerPrincipal> = {
    till: { kind: 'device', devicePublicKey: key, venueId: 'v1' },
    relay: { kind: 'relay', devicePublicKey: key },
  }
  const share = createShareConfig(
    { principalOf: (p) => principals[p] },
    (principal, doc) => doc !== ('personal-v1' as DocumentId) || principal.venueId === 'v1',
  )
  const ask = (peer: string, doc: string) => share.access(peer as RepoPeerId, doc as DocumentId)

  it('shares nothing with a peer the handshake does not know', async () => {
    expect(await ask('stranger', 'public')).toBe(false)
    expect(await share.announce('stranger' as RepoPeerId, 'public' as DocumentId)).toBe(false)
  })

  it('applies the document rule to known principals', async () => {
    expect(await ask('till', 'personal-v1')).toBe(true)
    expect(await ask('relay', 'personal-v1')).toBe(false)
    expect(await ask('relay', 'public')).toBe(true)
  })
})

describe('echo floor and peer status over real libp2p', () => {
  let peers: TestPeer[]
  let tracker: PeerStatusTracker
  beforeAll(async () => {
    peers = await startTestPeers(2, { connect: false })
    tracker = new PeerStatusTracker(0)
    tracker.start(peers[0]!.host, peers[0]!.access)
    await connectAll(peers)
  })
  afterAll(async () => {
    tracker.stop()
    await Promise.all(peers.map((p) => p.stop()))
  })

  it('measures echo round trips between authenticated peers', async () => {
    const [a, b] = peers as [TestPeer, TestPeer]
    const stop = await serveEcho(b.host, b.access)
    const times = await measureEcho(a.host, b.host.peerId.toString(), 20)
    await stop()
    expect(times).toHaveLength(20)
    for (const t of times) expect(t).toBeGreaterThan(0)
  })

  it('echoes over the same connection as the sync stream when the peers hold two', async () => {
    const [a, b] = peers as [TestPeer, TestPeer]
    // A second connection, dialled the other way (as when two peers dial each other at once).
    await b.host.dial(a.host.getMultiaddrs(), { force: true })
    const adapters = [a, b].map((p) => new Libp2pNetworkAdapter({ libp2p: p.host, gate: p.access }))
    adapters.forEach((adapter, i) => {
      adapter.connect(`repo-${i}` as RepoPeerId)
    })
    const bId = b.host.peerId.toString()
    const carrying = (protocol: string) =>
      a.host
        .getConnections(b.host.peerId)
        .filter((c) => c.streams.some((s) => s.protocol === protocol && s.direction === 'outbound'))
        .map((c) => c.id)
    try {
      await expect.poll(() => carrying(AUTOMERGE_PROTOCOL).length, { timeout: 10_000 }).toBe(1)
      expect(a.host.getConnections(b.host.peerId).length).toBe(2)
      const stop = await serveEcho(b.host, b.access)
      const echoing = measureEcho(a.host, bId, 10, 200, { gapMs: 20 })
      await expect.poll(() => carrying(ECHO_PROTOCOL).length, { timeout: 5_000 }).toBe(1)
      expect(carrying(ECHO_PROTOCOL)).toEqual(carrying(AUTOMERGE_PROTOCOL))
      expect(await echoing).toHaveLength(10)
      await stop()
    } finally {
      for (const adapter of adapters) adapter.disconnect()
    }
  })

  it('reports a TCP peer as connected directly and authenticated', async () => {
    const b = peers[1]!.host.peerId.toString()
    await expect.poll(() => tracker.get(b)?.authenticated, { timeout: 10_000 }).toBe(true)
    expect(tracker.get(b)).toMatchObject({ connected: true, via: 'direct' })
    const before = tracker.get(b)!.lastSeen
    await new Promise((r) => setTimeout(r, 5))
    tracker.seen(b)
    expect(tracker.get(b)!.lastSeen).toBeGreaterThan(before)
  })
})
