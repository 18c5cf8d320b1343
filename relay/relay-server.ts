// The Lakou relay: a libp2p circuit relay v2 server (NAT'd tills are reachable through it), an always-on
// automerge-repo peer with on-disk storage that stores and forwards the documents it may hold (two tills
// never online together converge through it), a WebSocket listen address for browsers, and HTTP /healthz
// and /metrics. It holds a relay certificate and its own device key only: no venue key, so it can forge
// no record; personal data reaches it encrypted.

import { join } from 'node:path'
import type { DocumentId, PeerId as RepoPeerId, StorageAdapterInterface } from '@automerge/automerge-repo'
import { Repo } from '@automerge/automerge-repo'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import {
  type DocumentAccess,
  flushReadyDocuments,
  type LakouNetwork,
  type LocalCredentials,
  type PeerAuthenticator,
  startLakouNetwork,
} from '../sync/net/mod.ts'
import { LinkResync } from '../sync/node/link-resync.ts'
import { PageTransfer } from '../sync/node/page-transfer.ts'
import { type HttpEndpoint, startHttpEndpoint } from './http.ts'
import { RelayMetrics } from './metrics.ts'

export interface RelayOptions {
  dataDir: string
  /** TCP multiaddrs (default /ip4/0.0.0.0/tcp/0). */
  listen?: string[]
  /** WebSocket port for browsers (0 = OS-chosen). */
  wsPort?: number
  /** Host the WebSocket and HTTP listeners bind to (default 0.0.0.0). */
  bindHost?: string
  /** HTTP port for /healthz and /metrics (0 = OS-chosen; omit to serve no HTTP). */
  httpPort?: number
  /** Other relays of the federation to stay connected to (multiaddrs with /p2p/<id>): relays sync with each other. */
  peers?: string[]
  /** Public addresses to announce (a relay behind a port forward). */
  announce?: string[]
  credentials: LocalCredentials
  authenticator: PeerAuthenticator
  /** Which certified peer may hold which document; default: every certified peer, every document. */
  documentAccess?: DocumentAccess
  /** Storage for the repo; default NodeFS in <dataDir>/automerge. */
  storage?: StorageAdapterInterface
  /** Called once the repo exists (e.g. to follow the federation directory so every document is held). */
  onRepo?: (repo: Repo) => Promise<void> | void
  /**
   * Full ledger pages this relay sends whole to a till catching up (`/lakou/ledger-page/1.0.0`, as stored on
   * its disk; see relay/full-pages.ts). Without it, pages reach tills only through the sync protocol.
   */
  completePage?: (documentId: DocumentId) => boolean
  /** How long a connected peer has to pass the handshake (default 10 s). */
  helloTimeoutMs?: number
  log?: (line: string) => void
}

export interface RelayServer {
  network: LakouNetwork
  repo: Repo
  metrics: RelayMetrics
  http?: HttpEndpoint
  peerId: string
  /** libp2p multiaddrs (TCP and WebSocket) with /p2p/<id>. */
  addresses(): string[]
  /** Writes every ready document to disk (never throws on a document still looked for); returns how many. */
  flush(): Promise<number>
  stop(): Promise<void>
}

export async function startRelay(options: RelayOptions): Promise<RelayServer> {
  const bind = options.bindHost ?? '0.0.0.0'
  const listen = [...(options.listen ?? [`/ip4/${bind}/tcp/0`]), `/ip4/${bind}/tcp/${options.wsPort ?? 0}/ws`]
  const metrics = new RelayMetrics()
  // A new link re-syncs only the documents that changed (sync/node/link-resync.ts); set once the repo exists.
  let linkResync: LinkResync | undefined
  const network = await startLakouNetwork({
    dataDir: options.dataDir,
    listen,
    mdns: false,
    relayServer: true,
    ...(options.peers?.length ? { relays: options.peers } : {}),
    ...(options.announce ? { announce: options.announce } : {}),
    credentials: options.credentials,
    authenticator: options.authenticator,
    onFrame: () => metrics.framesReceived++,
    ...(options.helloTimeoutMs !== undefined ? { helloTimeoutMs: options.helloTimeoutMs } : {}),
    ...(options.log ? { log: options.log } : {}),
    helloAttachment: {
      local: () => linkResync?.digest(),
      remote: (peer, bytes) => linkResync?.declared(peer, bytes),
    },
  })
  network.access.on('peer:dropped', ({ error }) => metrics.dropped(error.name))

  const documentAccess: DocumentAccess = options.documentAccess ?? (() => true)
  const storage = options.storage ?? new NodeFSStorageAdapter(join(options.dataDir, 'automerge'))
  const share = network.shareConfig(documentAccess)
  const completePage = options.completePage
  // A full page is not announced, as on tills (sync/node/page-fetch-policy.ts): a till lacking it asks for
  // it whole first. Announced, every page reached every till connecting here through the sync protocol
  // (the relay loading and syncing each) before the till could ask for it whole.
  const announce = async (peer: RepoPeerId, id: DocumentId) =>
    completePage?.(id) ? false : share.announce(peer, id)
  const repo = new Repo({
    network: [network.adapter],
    storage,
    peerId: network.host.peerId.toString() as RepoPeerId,
    shareConfig: {
      access: share.access,
      announce: (peer, id) =>
        id === undefined ? share.announce(peer) : (linkResync?.announce(peer, id) ?? announce(peer, id)),
    },
  })
  linkResync = new LinkResync(repo, announce)
  const resyncWatch = setInterval(() => linkResync?.watch(), 1000)
  resyncWatch.unref?.()
  // A fresh till catching up through the relay gets full pages as their stored bytes: no Automerge load and
  // sync message per page here (the relay holds every page of the federation), one check per page there.
  const pages = completePage
    ? new PageTransfer({
        host: network.host,
        access: network.access,
        storage,
        mayHold: (peer, id) => share.access(peer as RepoPeerId, id),
        isCompletePage: completePage,
        ...(options.log ? { log: options.log } : {}),
      })
    : undefined
  // A relay that fails to start (its directory unreadable, the HTTP port taken) must not leave libp2p
  // listening: the process would neither serve nor exit, and a restart would find its ports taken.
  const abandon = async (err: unknown): Promise<never> => {
    clearInterval(resyncWatch)
    network.adapter.disconnect()
    await pages?.stop()
    await flushReadyDocuments(repo).catch(() => {})
    await network.stop().catch(() => {})
    throw err
  }
  await Promise.resolve(options.onRepo?.(repo)).catch(abandon)
  await pages?.start().catch(abandon)

  const relayService = (network.host.services as { relay?: { reservations?: { size: number } } }).relay
  const snapshot = () => ({
    peerId: network.host.peerId.toString(),
    connectedPeers: new Set(network.host.getConnections().map((c) => c.remotePeer.toString())).size,
    authenticatedPeers: network.access.authenticatedPeers().length,
    relayedPeers: network.status.all().filter((s) => s.connected && s.via === 'relay').length,
    reservations: relayService?.reservations?.size ?? 0,
    documents: Object.values(repo.handles).filter((h) => h.isReady()).length,
    pagesServedWhole: pages?.stats.served ?? 0,
  })

  let http: HttpEndpoint | undefined
  if (options.httpPort !== undefined) {
    http = await startHttpEndpoint({
      port: options.httpPort,
      host: bind,
      health: () => ({ ok: network.host.status === 'started', ...snapshot() }),
      metrics: () => metrics.render(snapshot()),
    }).catch(abandon)
  }

  return {
    network,
    repo,
    metrics,
    ...(http ? { http } : {}),
    peerId: network.host.peerId.toString(),
    addresses: () => network.addresses(),
    flush: async () => (await flushReadyDocuments(repo)).length,
    async stop() {
      await http?.close()
      // Flush every document to disk before the network goes away: acknowledged data must survive restarts.
      // The network stops even if the flush fails; the failure is still reported to the caller.
      // Only ready handles (flushReadyDocuments): repo.flush() and repo.shutdown() throw on a document
      // still being looked for (named in the directory, not yet received), which has nothing to save.
      clearInterval(resyncWatch)
      try {
        network.adapter.disconnect()
        await pages?.stop()
        await flushReadyDocuments(repo)
      } finally {
        await network.stop()
      }
    },
  }
}
