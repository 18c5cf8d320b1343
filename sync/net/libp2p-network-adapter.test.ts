// automerge-repo's own network adapter acceptance suite, run over real libp2p hosts on 127.0.0.1
// (TCP, noise, yamux) with the real access handshake between them.
// The full entry point loads Automerge's wasm (the adapter itself imports only the slim entry).
import '@automerge/automerge-repo'
import { runNetworkAdapterTests } from '@automerge/automerge-repo/helpers/tests/network-adapter-tests.js'
import { Libp2pNetworkAdapter } from './libp2p-network-adapter.ts'
import { startTestPeers } from './testing.ts'

runNetworkAdapterTests(async () => {
  const peers = await startTestPeers(3)
  const adapters = peers.map((p) => new Libp2pNetworkAdapter({ libp2p: p.host, gate: p.access })) as [
    Libp2pNetworkAdapter,
    Libp2pNetworkAdapter,
    Libp2pNetworkAdapter,
  ]
  return {
    adapters,
    teardown: () => {
      for (const a of adapters) a.disconnect()
      void Promise.all(peers.map((p) => p.stop()))
    },
  }
}, 'libp2p over TCP on 127.0.0.1')
