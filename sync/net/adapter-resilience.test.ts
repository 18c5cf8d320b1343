// The adapter over real libp2p between in-process hosts: behaviour beyond automerge-repo's acceptance suite.

import type { PeerId as RepoPeerId } from '@automerge/automerge-repo'
import { cbor, Repo } from '@automerge/automerge-repo'
import * as lp from 'it-length-prefixed'
import { afterEach, describe, expect, it } from 'vitest'
import { AUTOMERGE_PROTOCOL, Libp2pNetworkAdapter } from './libp2p-network-adapter.ts'
import { startTestPeers, type TestPeer } from './testing.ts'

let peers: TestPeer[] = []
const repos: Repo[] = []
afterEach(async () => {
  await Promise.all(repos.splice(0).map((r) => r.shutdown()))
  await Promise.all(peers.map((p) => p.stop()))
})

function repoOn(peer: TestPeer): Repo {
  const repo = new Repo({
    network: [new Libp2pNetworkAdapter({ libp2p: peer.host, gate: peer.access })],
    peerId: peer.host.peerId.toString() as RepoPeerId,
  })
  repos.push(repo)
  return repo
}

/** Connects a to b only (no full mesh) and waits for both handshakes. */
async function link(a: TestPeer, b: TestPeer): Promise<void> {
  await a.host.dial(b.host.getMultiaddrs())
  await Promise.all([
    a.access.whenAuthenticated(b.host.peerId.toString()),
    b.access.whenAuthenticated(a.host.peerId.toString()),
  ])
}

const droppedBy = (peer: TestPeer) => {
  const dropped: Array<{ peerId: string; error: string }> = []
  peer.access.on('peer:dropped', ({ peerId, error }) => dropped.push({ peerId, error: error.name }))
  return dropped
}

/** A raw sync stream from `from` to `to`'s adapter: a join, then whatever frames the test writes. */
async function rawSyncStream(from: TestPeer, to: TestPeer, joinAs: string) {
  const [connection] = from.host.getConnections(to.host.peerId)
  const stream = await connection!.newStream(AUTOMERGE_PROTOCOL)
  const send = (message: unknown) => stream.send(lp.encode.single(cbor.encode(message)))
  send({ type: 'join', senderId: joinAs, peerMetadata: {} })
  return send
}

describe('Libp2pNetworkAdapter over libp2p', () => {
  it('is ready only once already-connected peers have joined, so an immediate find() reaches them', async () => {
    peers = await startTestPeers(2)
    const [a, b] = peers as [TestPeer, TestPeer]
    const handle = repoOn(a).create<{ v: number }>({ v: 1 })
    const found = await repoOn(b).find<{ v: number }>(handle.url, { signal: AbortSignal.timeout(10_000) })
    expect(found.doc().v).toBe(1)
  })

  it('reopens a sync stream that died while the peer stayed connected', async () => {
    peers = await startTestPeers(2)
    const [a, b] = peers as [TestPeer, TestPeer]
    const repoA = repoOn(a)
    const handle = repoA.create<{ v: number }>({ v: 1 })
    const onB = await repoOn(b).find<{ v: number }>(handle.url, { signal: AbortSignal.timeout(10_000) })
    // Reset every sync stream; the libp2p connection itself stays up.
    for (const c of a.host.getConnections()) {
      for (const s of c.streams)
        if (s.protocol === AUTOMERGE_PROTOCOL) s.abort(new Error('test: stream reset'))
    }
    expect(a.host.getConnections(b.host.peerId).length).toBeGreaterThan(0)
    handle.change((d) => {
      d.v = 2
    })
    await expect.poll(() => onB.doc().v, { timeout: 10_000 }).toBe(2)
  })

  it("delivers a broadcast A -> B -> C: B forwards it under A's sender id and is not dropped as a spoofer", async () => {
    peers = await startTestPeers(3, { connect: false })
    const [a, b, c] = peers as [TestPeer, TestPeer, TestPeer]
    await link(a, b)
    await link(b, c) // A and C never meet
    const droppedAtC = droppedBy(c)
    const handleA = repoOn(a).create<{ v: number }>({ v: 1 })
    await repoOn(b).find(handleA.url, { signal: AbortSignal.timeout(10_000) })
    // C's repo starts once B holds the doc (earlier, B's own search would mark it unavailable at C).
    const handleC = await repoOn(c).find(handleA.url, { signal: AbortSignal.timeout(10_000) })
    const received: Array<{ senderId: string; message: unknown }> = []
    handleC.on('ephemeral-message', ({ senderId, message }) => received.push({ senderId, message }))
    // B's synchronizer learns C's interest asynchronously: broadcast until one arrives.
    await expect
      .poll(
        () => {
          handleA.broadcast({ hello: 'from A' })
          return received.length
        },
        { timeout: 10_000, interval: 200 },
      )
      .toBeGreaterThan(0)
    expect(received[0]).toEqual({ senderId: a.host.peerId.toString(), message: { hello: 'from A' } })
    expect(droppedAtC).toEqual([])
    expect(c.access.isAuthenticated(b.host.peerId.toString())).toBe(true)
  })

  it('still drops a peer that sends a sync message under another id, or an ephemeral one under ours', async () => {
    peers = await startTestPeers(3)
    const [server, honest, rogue] = peers as [TestPeer, TestPeer, TestPeer]
    const documentId = repoOn(server).create({ v: 1 }).documentId
    const dropped = droppedBy(server)
    const self = server.host.peerId.toString()
    const sendSpoof = await rawSyncStream(rogue, server, 'rogue')
    // A sync message is only ever authored by the peer that sends it: another id is a spoof.
    sendSpoof({
      type: 'sync',
      senderId: honest.host.peerId.toString(),
      targetId: self,
      data: new Uint8Array(1),
    })
    await expect
      .poll(() => dropped, { timeout: 10_000 })
      .toEqual([{ peerId: rogue.host.peerId.toString(), error: 'MalformedFrameError' }])
    // An ephemeral message may be forwarded under its author's id, but never claim to be the receiver's own.
    const sendReflection = await rawSyncStream(honest, server, 'honest')
    sendReflection({
      type: 'ephemeral',
      senderId: 'some-third-peer',
      targetId: self,
      documentId,
      sessionId: 's',
      count: 1,
      data: cbor.encode('forwarded'),
    })
    sendReflection({
      type: 'ephemeral',
      senderId: self,
      targetId: self,
      documentId,
      sessionId: 's',
      count: 2,
      data: cbor.encode('reflected'),
    })
    await expect.poll(() => dropped.length, { timeout: 10_000 }).toBe(2)
    expect(dropped[1]).toEqual({ peerId: honest.host.peerId.toString(), error: 'MalformedFrameError' })
  })
})
