// Per-peer status for the node and the app: connected directly or through a relay, authenticated, last seen.
import type { Connection, Libp2p } from '@libp2p/interface'
import type { PeerAccess, PeerPrincipal } from './access.ts'
import { TypedEvents } from './events.ts'

export type PeerPath = 'direct' | 'relay' | 'none'

export interface PeerStatus {
  peerId: string
  connected: boolean
  via: PeerPath
  authenticated: boolean
  principal?: PeerPrincipal
  /** ms since epoch of the last connection event or frame from this peer. */
  lastSeen: number
}

export interface PeerStatusEvents extends Record<string, unknown> {
  'peer:status': PeerStatus
}

/** A relayed connection is limited by the relay and its address goes through /p2p-circuit. */
export function connectionPath(connection: Connection): Exclude<PeerPath, 'none'> {
  return connection.limits != null || connection.remoteAddr.toString().includes('/p2p-circuit')
    ? 'relay'
    : 'direct'
}

export class PeerStatusTracker extends TypedEvents<PeerStatusEvents> {
  private readonly peers = new Map<string, PeerStatus>()
  private readonly lastEmitted = new Map<string, number>()
  private libp2p?: Libp2p
  private offs: Array<() => void> = []

  /** `seen()` re-emits a status at most this often per peer (frames can arrive thousands of times a second). */
  constructor(private readonly seenEmitIntervalMs = 1_000) {
    super()
  }

  start(libp2p: Libp2p, access?: PeerAccess): void {
    this.libp2p = libp2p
    const refresh = (event: CustomEvent<{ remotePeer: { toString(): string } } | { toString(): string }>) => {
      const d = event.detail as { remotePeer?: { toString(): string } }
      this.refresh((d.remotePeer ?? event.detail).toString())
    }
    for (const name of ['connection:open', 'connection:close', 'peer:disconnect'] as const) {
      libp2p.addEventListener(name, refresh as never)
      this.offs.push(() => libp2p.removeEventListener(name, refresh as never))
    }
    if (access) {
      this.offs.push(
        access.on('peer:authenticated', ({ peerId }) => this.refresh(peerId)),
        access.on('peer:dropped', ({ peerId }) => this.refresh(peerId)),
        access.on('peer:gone', ({ peerId }) => this.refresh(peerId)),
      )
    }
    this.access = access
    for (const c of libp2p.getConnections()) this.refresh(c.remotePeer.toString())
  }

  private access?: PeerAccess

  stop(): void {
    for (const off of this.offs) off()
    this.offs = []
    this.libp2p = undefined
  }

  get(peerId: string): PeerStatus | undefined {
    return this.peers.get(peerId)
  }

  all(): PeerStatus[] {
    return [...this.peers.values()]
  }

  /** A frame arrived from this peer. */
  seen(peerId: string): void {
    const status = this.peers.get(peerId)
    if (!status) return
    status.lastSeen = Date.now()
    const last = this.lastEmitted.get(peerId) ?? 0
    if (status.lastSeen - last >= this.seenEmitIntervalMs) this.publish(status)
  }

  private refresh(peerId: string): void {
    const connections = (this.libp2p?.getConnections() ?? []).filter(
      (c) => c.remotePeer.toString() === peerId && c.status === 'open',
    )
    const paths = connections.map(connectionPath)
    const via: PeerPath = paths.includes('direct') ? 'direct' : paths.includes('relay') ? 'relay' : 'none'
    const principal = this.access?.principalOf(peerId)
    const status: PeerStatus = {
      peerId,
      connected: connections.length > 0,
      via,
      authenticated: principal !== undefined,
      ...(principal ? { principal } : {}),
      lastSeen: Date.now(),
    }
    this.peers.set(peerId, status)
    this.publish(status)
  }

  private publish(status: PeerStatus): void {
    this.lastEmitted.set(status.peerId, status.lastSeen)
    this.emit('peer:status', { ...status })
  }
}
