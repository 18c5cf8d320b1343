// One call that composes the network half of a node or relay (Node): host, handshake, status, adapter.
// The caller passes `network.adapter` and `network.shareConfig(rule)` to its automerge-repo Repo.
import {
  composeLakouNetwork,
  createPeerAccess,
  type LakouNetwork,
  type NetworkComposeOptions,
} from './compose.ts'
import { createLakouHost, type LakouHostOptions } from './host.ts'

export type { LakouNetwork } from './compose.ts'

export interface LakouNetworkOptions extends LakouHostOptions, NetworkComposeOptions {}

export async function startLakouNetwork(options: LakouNetworkOptions): Promise<LakouNetwork> {
  const access = createPeerAccess(options)
  // Peers blocked by `network.blockPeer`: the host's connection gater refuses them (no dial at all).
  const blockedPeers = new Set<string>()
  // The relay server (when this host is one) reserves and relays only for peers that pass the handshake.
  const host = await createLakouHost({
    ...options,
    relayGate: access,
    refusePeer: (peerId) => blockedPeers.has(peerId),
  })
  // A relay waits for tills to dial it (they bootstrap to it): it does not redial the tills that leave.
  const reconnect = options.reconnect ?? (options.relayServer ? false : undefined)
  return composeLakouNetwork(host, access, {
    ...options,
    blockedPeers,
    ...(reconnect !== undefined ? { reconnect } : {}),
  })
}
