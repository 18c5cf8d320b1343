// Composes the network half around an existing libp2p host: handshake, status, adapter (portable: Node and
// browsers). `startLakouNetwork` (Node) and `startBrowserNetwork` (browser) create the host and call this.
import type { Libp2p } from '@libp2p/interface'
import { type LocalCredentials, PeerAccess, type PeerAuthenticator } from './access.ts'
import { Libp2pNetworkAdapter } from './libp2p-network-adapter.ts'
import type { RateLimit } from './rate-limit.ts'
import { createShareConfig, type DocumentAccess, type ShareConfig } from './share-policy.ts'
import { PeerStatusTracker } from './status.ts'

export interface NetworkComposeOptions {
  credentials: LocalCredentials
  authenticator: PeerAuthenticator
  maxFrameBytes?: number
  rateLimit?: RateLimit
  helloTimeoutMs?: number
  log?: (line: string) => void
  /** Called for every sync frame received (metrics). */
  onFrame?: (peerId: string) => void
  /** The repo's peer id is the host's libp2p peer id, and peers' joins must be too (default true). */
  bindRepoPeerId?: boolean
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

export function createPeerAccess(options: NetworkComposeOptions): PeerAccess {
  return new PeerAccess({
    credentials: options.credentials,
    authenticator: options.authenticator,
    ...(options.helloTimeoutMs !== undefined ? { helloTimeoutMs: options.helloTimeoutMs } : {}),
    ...(options.log ? { log: options.log } : {}),
  })
}

/** Starts the handshake on `host` and builds the adapter; `stop()` also stops the host. */
export async function composeLakouNetwork(
  host: Libp2p,
  access: PeerAccess,
  options: NetworkComposeOptions,
): Promise<LakouNetwork> {
  const status = new PeerStatusTracker()
  status.start(host, access)
  await access.start(host)
  const adapter = new Libp2pNetworkAdapter({
    libp2p: host,
    gate: access,
    ...(options.maxFrameBytes !== undefined ? { maxFrameBytes: options.maxFrameBytes } : {}),
    ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
    bindRepoPeerId: options.bindRepoPeerId ?? true,
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
