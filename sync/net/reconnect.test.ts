// Certified peers stay connected: a connection that drops (a missed ping on a loaded till, a Wi-Fi blip)
// is redialled by libp2p's reconnect queue because the handshake tagged the peer keep-alive, and after a
// cut by the node's own Reconnector (short capped backoff, never gives up); a peer the node dropped for
// misbehaving is not redialled.
import { createConnection, createServer, type Server } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { HandshakeRejectedError, HandshakeTimeoutError, MalformedFrameError } from './errors.ts'
import { DEFAULT_REDIAL_POLICY, Reconnector, type RedialHost, redialDelay } from './reconnect.ts'
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

describe('certified peers come back by themselves after a cut (real libp2p)', () => {
  it('while blocked nothing is dialled; once unblocked each side finds the other again without a dial', async () => {
    peers = await startTestPeers(2, { reconnect: true })
    const [a, b] = peers as [TestPeer, TestPeer]
    const [na, nb] = [blockable(a), blockable(b)]
    await Promise.all([na.block(b), nb.block(a)])
    await expect.poll(() => connected(a, b) || connected(b, a), { timeout: 30_000 }).toBe(false)
    // Both sides keep trying (their backoff runs), but the cut holds: no connection at all.
    await expect
      .poll(() => reconnectorOf(a).awayPeers(), { timeout: 30_000 })
      .toContain(b.host.peerId.toString())
    expect(connected(a, b) || connected(b, a)).toBe(false)
    const again = a.access.whenAuthenticated(b.host.peerId.toString(), 60_000)
    na.unblock(b)
    nb.unblock(a)
    await again
    await expect.poll(() => connected(a, b) && connected(b, a), { timeout: 30_000 }).toBe(true)
    expect(reconnectorOf(a).redials + reconnectorOf(b).redials).toBeGreaterThan(0)
  })

  it('a certified peer dropped for a slow hello is not refused and comes back; a refused one is not', async () => {
    peers = await startTestPeers(3, { reconnect: true })
    const [a, b, c] = peers as [TestPeer, TestPeer, TestPeer]
    const [bId, cId] = [b.host.peerId.toString(), c.host.peerId.toString()]
    const back = a.access.whenAuthenticated(bId, 60_000)
    a.access.drop(bId, new HandshakeTimeoutError('handshake timeout (test)'))
    a.access.drop(cId, new HandshakeRejectedError('certificate refused (test)'))
    expect(a.access.cooldownLeft(bId)).toBe(0)
    expect(a.access.cooldownLeft(cId)).toBeGreaterThan(0)
    expect(a.access.isCertifiedBefore(bId)).toBe(true)
    expect(a.access.isCertifiedBefore(cId)).toBe(false)
    await expect.poll(() => connected(a, c) || connected(c, a), { timeout: 30_000 }).toBe(false)
    await back
    await expect.poll(() => connected(a, b), { timeout: 30_000 }).toBe(true)
  })
})

describe('dials on a slow link (real libp2p)', () => {
  it('a dial whose handshake takes longer than the 6 s libp2p gives an address still connects', async () => {
    peers = await startTestPeers(2, { connect: false })
    const [a, b] = peers as [TestPeer, TestPeer]
    // b reached through a proxy that holds the first bytes 7 s (two starved tills: noise takes that long)
    const proxy = await delayProxy(
      Number(b.host.getMultiaddrs()[0]!.toString().split('/tcp/')[1]!.split('/')[0]),
      7_000,
    )
    try {
      const addr = multiaddr(`/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${b.host.peerId}`)
      await a.host.dial(addr)
      await a.access.whenAuthenticated(b.host.peerId.toString(), 30_000)
      expect(connected(a, b)).toBe(true)
    } finally {
      proxy.server.close()
    }
  }, 30_000)
})

describe('Reconnector (fake host and timers)', () => {
  function fakeHost(localPeerId: string) {
    const state = {
      connected: new Set<string>(),
      certified: new Set<string>(),
      dials: [] as string[],
      reachable: true,
      disconnect: (_: string) => {},
      authenticate: (_: string) => {},
    }
    const host: RedialHost = {
      localPeerId,
      isConnected: (p) => state.connected.has(p),
      dial: async (p) => {
        state.dials.push(p)
        if (!state.reachable) throw new Error('unreachable')
        state.connected.add(p)
      },
      isCertified: (p) => state.certified.has(p),
      onDisconnected: (fn) => {
        state.disconnect = fn
        return () => {}
      },
      onAuthenticated: (fn) => {
        state.authenticate = fn
        return () => {}
      },
    }
    return { host, state }
  }
  function fakeTimers() {
    const timers: Array<{ at: number; fn: () => void; id: number }> = []
    let t = 0
    let id = 0
    return {
      now: () => t,
      setTimer: (fn: () => void, ms: number) => {
        timers.push({ at: t + ms, fn, id: ++id })
        return id
      },
      clearTimer: (h: unknown) => {
        const i = timers.findIndex((x) => x.id === h)
        if (i >= 0) timers.splice(i, 1)
      },
      /** Fires the next timer (time jumps to it); its async dial settles before this resolves. */
      async next(): Promise<number> {
        timers.sort((x, y) => x.at - y.at)
        const timer = timers.shift()
        if (!timer) throw new Error('no timer')
        const waited = timer.at - t
        t = timer.at
        timer.fn()
        for (let i = 0; i < 5; i++) await Promise.resolve()
        return waited
      },
      get count() {
        return timers.length
      },
    }
  }

  it('redials a lost certified peer on a short doubling backoff, capped, until it is back', async () => {
    const { host, state } = fakeHost('a')
    const timers = fakeTimers()
    const r = new Reconnector(host, { ...timers, random: () => 1 })
    r.start()
    state.certified.add('b')
    state.reachable = false
    state.disconnect('b')
    const waits: number[] = []
    for (let i = 0; i < 6; i++) waits.push(await timers.next())
    // 'a' < 'b': a leads, no follower delay; random() = 1: the full backoff.
    expect(waits).toEqual([250, 500, 1000, 2000, 2000, 2000])
    expect(state.dials).toEqual(['b', 'b', 'b', 'b', 'b', 'b'])
    // Where it stands, for diagnostics: away since the loss, six failed redials, the next one scheduled.
    expect(r.awayState('b')).toEqual({
      awayMs: 250 + 500 + 1000 + 6000,
      attempts: 6,
      dialing: false,
      scheduled: true,
    })
    expect(r.lastRedial('b')).toMatchObject({ attempt: 6, error: 'unreachable' })
    state.reachable = true
    await timers.next()
    expect(state.connected.has('b')).toBe(true)
    expect(timers.count).toBe(0) // connected: the handshake decides, no more timers
    state.authenticate('b')
    expect(r.awayPeers()).toEqual([])
    expect(r.awayState('b')).toBeUndefined()
    expect(r.redials).toBe(1)
  })

  it('the larger peer id waits longer; a failed handshake after a redial continues the backoff', async () => {
    const { host, state } = fakeHost('z')
    const timers = fakeTimers()
    const r = new Reconnector(host, { ...timers, random: () => 0 })
    r.start()
    state.certified.add('b')
    state.disconnect('b')
    expect(await timers.next()).toBe(125 + 1000) // half the first backoff (random 0) + follower delay
    expect(state.connected.has('b')).toBe(true)
    // The handshake failed: the peer is hung up; the next wait follows on, not from the start.
    state.connected.delete('b')
    state.disconnect('b')
    expect(await timers.next()).toBe(250 + 1000)
  })

  it('never redials a peer that is not certified, nor one dropped for misbehaving while away', async () => {
    const { host, state } = fakeHost('a')
    const timers = fakeTimers()
    const r = new Reconnector(host, { ...timers, random: () => 1 })
    r.start()
    state.disconnect('stranger')
    expect(timers.count).toBe(0)
    state.certified.add('b')
    state.reachable = false
    state.disconnect('b')
    await timers.next()
    state.certified.delete('b') // dropped with a cooldown: no longer certified
    await timers.next()
    expect(state.dials).toEqual(['b'])
    expect(r.awayPeers()).toEqual([])
    expect(timers.count).toBe(0)
  })

  it('slows down to the slow delay after the patience runs out', () => {
    const p = DEFAULT_REDIAL_POLICY
    expect(redialDelay(20, p.patienceMs - 1, true, p, () => 1)).toBe(p.maxDelayMs)
    expect(redialDelay(20, p.patienceMs, true, p, () => 1)).toBe(p.slowDelayMs)
    expect(redialDelay(0, 0, true, p, () => 0)).toBe(p.firstDelayMs / 2)
  })
})

/** A cut as LakouNetwork.blockPeer makes it: the gater refuses the peer, its connections close. */
function blockable(p: TestPeer) {
  return {
    block: async (other: TestPeer) => {
      p.blocked.add(other.host.peerId.toString())
      await Promise.all(p.host.getConnections(other.host.peerId).map((c) => c.close().catch(() => {})))
    },
    unblock: (other: TestPeer) => p.blocked.delete(other.host.peerId.toString()),
  }
}

function reconnectorOf(p: TestPeer): Reconnector {
  if (!p.reconnector) throw new Error('test peer started without reconnect')
  return p.reconnector
}

/** A TCP proxy to 127.0.0.1:`port` that forwards nothing either way until `holdMs` after each connection. */
async function delayProxy(port: number, holdMs: number): Promise<{ server: Server; port: number }> {
  const server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port })
    client.pause()
    upstream.pause()
    setTimeout(() => {
      client.pipe(upstream)
      upstream.pipe(client)
    }, holdMs)
    const end = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('proxy has no port')
  return { server, port: address.port }
}
