// The adapter over real libp2p between in-process hosts: behaviour beyond automerge-repo's acceptance suite.

import type { PeerId as RepoPeerId } from '@automerge/automerge-repo'
import { Repo } from '@automerge/automerge-repo'
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
})
