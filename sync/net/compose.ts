// Composes the network half around an existing libp2p host: handshake, status, adapter (portable: Node and
// browsers). `startLakouNetwork` (Node) and `startBrowserNetwork` (browser) create the host and call this.
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import {
  type HandshakeState,
  type HelloAttachment,
  type LocalCredentials,
  PeerAccess,
  type PeerAuthenticator,
  peerTimeSignal,
} from './access.ts'
import { Libp2pNetworkAdapter } from './libp2p-network-adapter.ts'
import type { RateLimit } from './rate-limit.ts'
import { type AwayState, Reconnector, type RedialPolicy, type RedialRecord } from './reconnect.ts'
import { createShareConfig, type DocumentAccess, type ShareConfig } from './share-policy.ts'
import { PeerStatusTracker } from './status.ts'

/**
 * How long a redial may take (TCP, noise, yamux), of the peer's time. A dial to a peer whose loop is stuck
 * waits for it (10-14 s stalls at a festival heal, and several turns of its loop per dial): 20 s cut dials
 * that would have completed, and the next one started over.
 */
export const REDIAL_TIMEOUT_MS = 30_000

export interface NetworkComposeOptions {
  credentials: LocalCredentials
  authenticator: PeerAuthenticator
  maxFrameBytes?: number
  rateLimit?: RateLimit
  helloTimeoutMs?: number
  /** Bytes carried in each hello both ways (sync/node: the heads of the documents held; access.ts). */
  helloAttachment?: HelloAttachment
  log?: (line: string) => void
  /** Called for every sync frame received (metrics). */
  onFrame?: (peerId: string) => void
  /** The repo's peer id is the host's libp2p peer id, and peers' joins must be too (default true). */
  bindRepoPeerId?: boolean
  /** Redialling of certified peers that went away (reconnect.ts); false: off. */
  reconnect?: Partial<RedialPolicy> | false
  /**
   * The set of blocked peers, when the host's connection gater reads it too (startLakouNetwork): then
   * nothing is dialled to them at all. Without it blocked peers' connections are closed as they open.
   */
  blockedPeers?: Set<string>
}

/** Everything this node knows about its link to one peer, for diagnostics (a link that does not come back). */
export interface LinkState {
  connections: Array<{ direction: string; status: string; ageMs: number; streams: string[] }>
  handshake: HandshakeState
  blocked: boolean
  away?: AwayState
  lastRedial?: RedialRecord
}

export interface LakouNetwork {
  host: Libp2p
  access: PeerAccess
  status: PeerStatusTracker
  adapter: Libp2pNetworkAdapter
  shareConfig(documentAccess: DocumentAccess): ShareConfig
  /** Redials certified peers that went away (undefined when switched off). */
  reconnector?: Reconnector
  /**
   * Cuts this node off from a peer at the transport (a network cut in tests and benches, or an admin's
   * block): its connections close and none is made until `unblockPeer`. The peer stays certified, so once
   * unblocked the node redials it by itself (reconnector).
   */
  blockPeer(peerId: string): Promise<void>
  unblockPeer(peerId: string): void
  /** Multiaddrs others can dial (with /p2p/<id>). */
  addresses(): string[]
  linkState(peerId: string): LinkState
  stop(): Promise<void>
}

export function createPeerAccess(options: NetworkComposeOptions): PeerAccess {
  return new PeerAccess({
    credentials: options.credentials,
    authenticator: options.authenticator,
    ...(options.helloTimeoutMs !== undefined ? { helloTimeoutMs: options.helloTimeoutMs } : {}),
    ...(options.helloAttachment ? { attachment: options.helloAttachment } : {}),
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
  const blocked = options.blockedPeers ?? new Set<string>()
  const closeIfBlocked = (event: CustomEvent<Connection>) => {
    if (blocked.has(event.detail.remotePeer.toString())) void event.detail.close().catch(() => {})
  }
  // Before the handshake's own listener: a blocked peer's connection never gets a hello.
  host.addEventListener('connection:open', closeIfBlocked)
  await access.start(host)
  const reconnector =
    options.reconnect === false ? undefined : startReconnector(host, access, blocked, options.reconnect)
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
    ...(reconnector ? { reconnector } : {}),
    async blockPeer(peerId) {
      blocked.add(peerId)
      await Promise.all(
        host
          .getConnections()
          .filter((c) => c.remotePeer.toString() === peerId)
          .map((c) => c.close().catch(() => {})),
      )
    },
    unblockPeer(peerId) {
      blocked.delete(peerId)
    },
    addresses: () => host.getMultiaddrs().map((a) => a.toString()),
    linkState(peerId) {
      const away = reconnector?.awayState(peerId)
      const lastRedial = reconnector?.lastRedial(peerId)
      return {
        connections: host
          .getConnections()
          .filter((c) => c.remotePeer.toString() === peerId)
          .map((c) => ({
            direction: c.direction,
            status: c.status,
            ageMs: Math.round(Date.now() - c.timeline.open),
            streams: c.streams.map((s) => s.protocol ?? '?'),
          })),
        handshake: access.handshakeState(peerId),
        blocked: blocked.has(peerId),
        ...(away ? { away } : {}),
        ...(lastRedial ? { lastRedial } : {}),
      }
    },
    async stop() {
      reconnector?.stop()
      host.removeEventListener('connection:open', closeIfBlocked)
      adapter.disconnect()
      status.stop()
      await access.stop()
      await host.stop()
    },
  }
}

/** Starts redialling `access`'s certified peers that go away (the node's; exported for test peers). */
export function startReconnector(
  host: Libp2p,
  access: PeerAccess,
  blocked: Set<string>,
  policy: Partial<RedialPolicy> | undefined,
): Reconnector {
  const reconnector = new Reconnector(
    {
      localPeerId: host.peerId.toString(),
      isConnected: (peerId) =>
        host.getConnections().some((c) => c.remotePeer.toString() === peerId && c.status === 'open'),
      // A blocked peer counts as unreachable (as behind a real cut): the backoff goes on, nothing is dialled.
      // The dial's deadline counts the peer's time (access.ts deadline()): libp2p's own is wall time, and two
      // starved tills' noise handshake outlasted it again and again after festival heals.
      dial: async (peerId) => {
        if (blocked.has(peerId)) throw new Error('peer is blocked')
        const { signal, cancel } = peerTimeSignal(REDIAL_TIMEOUT_MS, `redial of ${peerId}`)
        try {
          await host.dial(peerIdFromString(peerId), { signal })
        } finally {
          cancel()
        }
      },
      isCertified: (peerId) => access.isCertifiedBefore(peerId),
      onDisconnected: (fn) => {
        const listener = (event: CustomEvent<PeerId>) => fn(event.detail.toString())
        host.addEventListener('peer:disconnect', listener)
        return () => host.removeEventListener('peer:disconnect', listener)
      },
      onAuthenticated: (fn) => access.on('peer:authenticated', ({ peerId }) => fn(peerId)),
    },
    policy ? { policy } : {},
  )
  reconnector.start()
  return reconnector
}
