// One call that composes the network half of a node or relay: host, handshake, status, adapter.
// The caller passes `network.adapter` and `network.shareConfig(rule)` to its automerge-repo Repo.
import type { Libp2p } from '@libp2p/interface'
import { type LocalCredentials, PeerAccess, type PeerAuthenticator } from './access.ts'
import { createLakouHost, type LakouHostOptions } from './host.ts'
import { Libp2pNetworkAdapter } from './libp2p-network-adapter.ts'
import type { RateLimit } from './rate-limit.ts'
import { createShareConfig, type DocumentAccess, type ShareConfig } from './share-policy.ts'
import { PeerStatusTracker } from './status.ts'

export interface LakouNetworkOptions extends LakouHostOptions {
  credentials: LocalCredentials
  authenticator: PeerAuthenticator
  maxFrameBytes?: number
  rateLimit?: RateLimit
  helloTimeoutMs?: number
  log?: (line: string) => void
  /** Called for every sync frame received (metrics). */
  onFrame?: (peerId: string) => void
}

export interface LakouNetwork {
  host: Libp2p
  access: PeerAccess
  status: PeerStatusTracker
  adapter: Libp2pNetworkAdapter
  shareConfig(documentAccess: DocumentAccess): ShareConfig
  /** Multiaddrs others can dial (with /p2p/<id>). */
  addresses(): string[]
  stop(): Promise<void>
}

export async function startLakouNetwork(options: LakouNetworkOptions): Promise<LakouNetwork> {
  const access = new PeerAccess({
    credentials: options.credentials,
    authenticator: options.authenticator,
    ...(options.helloTimeoutMs !== undefined ? { helloTimeoutMs: options.helloTimeoutMs } : {}),
    ...(options.log ? { log: options.log } : {}),
  })
  const host = await createLakouHost({ ...options, relayGate: access })
  const status = new PeerStatusTracker()
  status.start(host, access)
  await access.start(host)
  const adapter = new Libp2pNetworkAdapter({
    libp2p: host,
    gate: access,
    ...(options.maxFrameBytes !== undefined ? { maxFrameBytes: options.maxFrameBytes } : {}),
    ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
    onFrame: (peerId) => {
      status.seen(peerId)
      options.onFrame?.(peerId)
    },
  })
  return {
    host,
    access,
    status,
    adapter,
    shareConfig: (documentAccess) => createShareConfig(adapter, documentAccess),
    addresses: () => host.getMultiaddrs().map((a) => a.toString()),
    async stop() {
      adapter.disconnect()
      status.stop()
      await access.stop()
      await host.stop()
    },
  }
}
