// Access control across OS processes: a serving node (its own process), a certified peer (its own process)
// and an uncertified one (its own process); rogue peers run here, in the test process, and speak raw frames.
import { cbor } from '@automerge/automerge-repo/slim'
import type { Libp2p } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import * as lp from 'it-length-prefixed'
import type { Uint8ArrayList } from 'uint8arraylist'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'

// Separate processes on two shared cores: generous per-test budget (each step has its own shorter timeout).
vi.setConfig({ testTimeout: 90_000, hookTimeout: 90_000 })

import { PeerAccess } from './access.ts'
import { generateEd25519Signer } from './ed25519.ts'
import { type ChildPeer, spawnChild } from './fixtures/child.ts'
import { createLakouHost } from './host.ts'
import { AUTOMERGE_PROTOCOL } from './libp2p-network-adapter.ts'
import { StaticPeerAuthenticator } from './static-authenticator.ts'
import { credentialsFor } from './testing.ts'

const PEER = 'sync/net/fixtures/scripted-peer.ts'
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

let server: ChildPeer
let good: ChildPeer
let stranger: ChildPeer
let url: string
const rogues: Libp2p[] = []

beforeAll(async () => {
  ;[server, good, stranger] = await Promise.all([
    // Low budgets so the flood tests are quick; honest sync stays far below them.
    spawnChild(PEER, {
      maxFrameBytes: 64 * 1024,
      rateLimit: { perSecond: 100, burst: 200, bytesPerSecond: 32 * 1024, burstBytes: 128 * 1024 },
    }),
    spawnChild(PEER, {}),
    spawnChild(PEER, {}),
  ])
  await server.request('trust', { key: good.ready.publicKey })
  await good.request('trust', { key: server.ready.publicKey })
  await stranger.request('trust', { key: server.ready.publicKey })
  url = String((await server.request('create', { doc: { note: 'v1' } })).url)
  await good.request('dial', { addr: server.ready.addrs[0] })
})

// A dropped rogue would redial the server it had certified (keep-alive) and use up the server's inbound
// connection threshold for the next test's rogue: each rogue ends with its test.
afterEach(async () => {
  await Promise.all(rogues.splice(0).map((r) => Promise.resolve(r.stop()).catch(() => {})))
})
afterAll(async () => {
  await Promise.all(rogues.map((r) => Promise.resolve(r.stop()).catch(() => {})))
  await Promise.all([server, good, stranger].map((c) => c?.stop()))
})

/** The node still serves its certified peer: a fresh change reaches it. */
async function stillServes(value: string): Promise<void> {
  await server.request('change', { url, key: 'note', value })
  const got = await good.request('wait', { url, key: 'note', value, timeoutMs: 10_000 })
  expect(got.doc).toMatchObject({ note: value })
}

/** A rogue that passes the handshake (its key is certified), then speaks raw frames on the sync protocol. */
async function certifiedRogue(): Promise<{
  host: Libp2p
  id: string
  send(frames: Array<Uint8Array | Uint8ArrayList>): Promise<void>
  closed: Promise<void>
}> {
  const signer = await generateEd25519Signer()
  await server.request('trust', { key: hex(signer.publicKey) })
  const host = await createLakouHost({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
  rogues.push(host)
  const trustServer = new StaticPeerAuthenticator([
    { kind: 'device', devicePublicKey: new Uint8Array(Buffer.from(String(server.ready.publicKey), 'hex')) },
  ])
  const access = new PeerAccess({
    credentials: credentialsFor(signer),
    authenticator: trustServer,
    log: () => {},
  })
  await access.start(host)
  const closed = new Promise<void>((resolve) => host.addEventListener('peer:disconnect', () => resolve()))
  // libp2p refuses more than 5 inbound connections per second from one host (inboundConnectionThreshold):
  // rogues created back to back from 127.0.0.1 can hit that, so a refused dial is retried after a second.
  const dial = () => host.dial(multiaddr(server.ready.addrs[0]!))
  const connection = await dial().catch(async () => {
    await new Promise((r) => setTimeout(r, 1_100))
    return dial()
  })
  await access.whenAuthenticated(server.ready.peerId)
  const stream = await connection.newStream(AUTOMERGE_PROTOCOL)
  return {
    host,
    id: host.peerId.toString(),
    closed,
    async send(frames) {
      for (const f of frames) stream.send(f)
    },
  }
}

const join = (senderId: string) => lp.encode.single(cbor.encode({ type: 'join', senderId, peerMetadata: {} }))

describe('access control between OS processes', () => {
  it('serves a certified peer', async () => {
    const got = await good.request('wait', { url, key: 'note', value: 'v1', timeoutMs: 10_000 })
    expect(got.doc).toMatchObject({ note: 'v1' })
  })

  it('gives an uncertified peer no document and drops it with a typed reason', async () => {
    await stranger.request('dial', { addr: server.ready.addrs[0] }).catch(() => {})
    const dropped = await server.waitForEvent(
      (e) => e.event === 'dropped' && e.peerId === stranger.ready.peerId,
    )
    expect(dropped.error).toBe('HandshakeRejectedError')
    // The same request that serves the certified peer gets the stranger nothing.
    const got = await stranger.request('wait', { url, key: 'note', value: 'v1', timeoutMs: 3_000 })
    expect(got.timeout).toBe(true)
    expect(got.doc).toBeUndefined()
    expect((await stranger.request('peers')).peers).toEqual([])
    await stillServes('after-stranger')
  })

  it('drops a peer that sends a garbage frame and keeps serving the others', async () => {
    const rogue = await certifiedRogue()
    await rogue.send([join(rogue.id), lp.encode.single(new Uint8Array([0xff, 0xff, 0x1c, 0x00, 0x5b]))])
    const dropped = await server.waitForEvent(
      (e) => e.event === 'dropped' && e.peerId === rogue.host.peerId.toString(),
    )
    expect(dropped.error).toBe('MalformedFrameError')
    await rogue.closed
    await stillServes('after-garbage')
  })

  it('drops a peer that announces an oversized frame before it sends the body', async () => {
    const rogue = await certifiedRogue()
    // A varint length of 100 MB and only a few body bytes: the limit must trip on the prefix alone.
    const prefix = new Uint8Array([0x80, 0xc2, 0xd7, 0x2f])
    await rogue.send([join(rogue.id), prefix, new Uint8Array(16)])
    const dropped = await server.waitForEvent(
      (e) => e.event === 'dropped' && e.peerId === rogue.host.peerId.toString(),
    )
    expect(dropped.error).toBe('FrameTooLargeError')
    await rogue.closed
    await stillServes('after-oversized')
  })

  it('drops a flooding peer and keeps serving the others', async () => {
    const rogue = await certifiedRogue()
    const noise = lp.encode.single(
      cbor.encode({ type: 'noop', senderId: rogue.id, targetId: server.ready.peerId }),
    )
    await rogue.send([join(rogue.id), ...Array.from({ length: 2_000 }, () => noise)])
    const dropped = await server.waitForEvent(
      (e) => e.event === 'dropped' && e.peerId === rogue.host.peerId.toString(),
    )
    expect(dropped.error).toBe('PeerFloodError')
    await stillServes('after-flood')
  })

  it('drops a peer that sends a few frames just under the size limit faster than its byte budget', async () => {
    const rogue = await certifiedRogue()
    // Eight frames (far under the 200-frame burst) of ~60 KiB each: 480 KiB against a 128 KiB byte burst.
    const bulky = lp.encode.single(
      cbor.encode({
        type: 'noop',
        senderId: rogue.id,
        targetId: server.ready.peerId,
        data: new Uint8Array(60 * 1024),
      }),
    )
    await rogue.send([join(rogue.id), ...Array.from({ length: 8 }, () => bulky)])
    const dropped = await server.waitForEvent(
      (e) => e.event === 'dropped' && e.peerId === rogue.host.peerId.toString(),
    )
    expect(dropped.error).toBe('PeerFloodError')
    await rogue.closed
    await stillServes('after-bulk')
  })

  it('drops a peer that spoofs another sender id', async () => {
    const rogue = await certifiedRogue()
    const spoof = lp.encode.single(
      cbor.encode({
        type: 'sync',
        senderId: good.ready.peerId,
        targetId: server.ready.peerId,
        data: new Uint8Array(1),
      }),
    )
    await rogue.send([join(rogue.id), spoof])
    const dropped = await server.waitForEvent(
      (e) => e.event === 'dropped' && e.peerId === rogue.host.peerId.toString(),
    )
    expect(dropped.error).toBe('MalformedFrameError')
    await stillServes('after-spoof')
  })

  it("drops a certified peer that joins under another peer's repo id", async () => {
    const rogue = await certifiedRogue()
    // The stranger's id is free at the server (never authenticated there): without the binding it would be taken.
    await rogue.send([join(stranger.ready.peerId)])
    const dropped = await server.waitForEvent((e) => e.event === 'dropped' && e.peerId === rogue.id)
    expect(dropped.error).toBe('MalformedFrameError')
    await rogue.closed
    await stillServes('after-hijack')
  })
})
