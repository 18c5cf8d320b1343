// An automerge-repo NetworkAdapter over libp2p streams. Works in Node and browsers (no node: imports).
//
// Each side opens its own outbound stream to each authenticated peer and writes; it reads the peer's
// outbound stream as its inbound. Two one-way streams avoid a tie-break on simultaneous open. The first
// frame of a stream is a join {senderId, peerMetadata}; every later frame is a repo message encoded as
// automerge-repo encodes it (CBOR). Frames are length-prefixed with a maximum size. Only peers that passed
// the access handshake are served; a peer sending a malformed, oversized or spoofed frame, or flooding, is
// dropped through the gate with a typed error while the others keep syncing. Forwarded ephemeral messages
// keep their author's senderId (see asMessage).

import type { Message, PeerMetadata } from '@automerge/automerge-repo/slim'
import { cbor, NetworkAdapter, type PeerId as RepoPeerId } from '@automerge/automerge-repo/slim'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { PeerPrincipal } from './access.ts'
import { preferredConnection } from './connections.ts'
import { type DropError, MalformedFrameError, PeerFloodError, PeerNotAuthenticatedError } from './errors.ts'
import { DEFAULT_MAX_FRAME_BYTES, FrameWriter, readFrames } from './frames.ts'
import { DEFAULT_RATE_LIMIT, PeerBudget, type RateLimit } from './rate-limit.ts'

export const AUTOMERGE_PROTOCOL = '/lakou/automerge-repo/1.0.0'

/** What the adapter needs from the access handshake (PeerAccess implements it). */
export interface PeerGate {
  isAuthenticated(peerId: string): boolean
  /** Resolves when the peer passes the handshake; rejects when it fails or times out. */
  whenAuthenticated(peerId: string): Promise<unknown>
  principalOf(peerId: string): PeerPrincipal | undefined
  authenticatedPeers(): string[]
  on(type: 'peer:authenticated', listener: (d: { peerId: string }) => void): () => void
  drop(peerId: string, error: DropError): void
}

export interface Libp2pNetworkAdapterOptions {
  libp2p: Libp2p
  gate: PeerGate
  protocol?: string
  maxFrameBytes?: number
  rateLimit?: RateLimit
  /** whenReady() resolves once every authenticated peer has joined, or after this long. */
  readyTimeoutMs?: number
  /** How long after a sync stream dies to reopen it while the peer is still connected (default 250 ms). */
  reopenDelayMs?: number
  /** Called for every frame received from a peer (status tracking). */
  onFrame?: (libp2pPeerId: string) => void
  /**
   * A join must announce the libp2p peer id the handshake authenticated as its repo peer id (Lakou repos
   * use it), so no certified peer can take another's repo id while that one is offline. Off by default for
   * repos with other ids (automerge-repo's acceptance suite); composeLakouNetwork turns it on.
   */
  bindRepoPeerId?: boolean
}

interface Link {
  libp2pPeerId: string
  outbound?: { stream: Stream; writer: FrameWriter }
  opening?: Promise<void>
  inbound?: Stream
  /** The repo peer id announced in the peer's join; set once the join has arrived. */
  repoPeerId?: RepoPeerId
  /** One budget per peer (frames and bytes), whatever number of streams it opens. */
  budget: PeerBudget
}

/** Repo messages through the adapter (benches: what a (re)connection costs in document sync). */
export interface AdapterTraffic {
  framesIn: number
  framesOut: number
  bytesIn: number
  bytesOut: number
  /** performance.now() of the last frame in or out (0: none yet). */
  lastFrameAt: number
}

interface Join {
  type: 'join'
  senderId: RepoPeerId
  peerMetadata: PeerMetadata
}

export class Libp2pNetworkAdapter extends NetworkAdapter {
  private readonly libp2p: Libp2p
  private readonly gate: PeerGate
  private readonly protocol: string
  private readonly maxFrameBytes: number
  private readonly rateLimit: RateLimit
  private readonly readyTimeoutMs: number
  private readonly links = new Map<string, Link>()
  private readonly byRepoPeer = new Map<RepoPeerId, string>()
  private connected = false
  private ready = false
  private readyWaiters: Array<() => void> = []
  private offs: Array<() => void> = []
  private readonly timers = new Set<ReturnType<typeof setTimeout>>()
  private readonly reopenDelayMs: number
  /** Counted as frames are written and read; never reset (read two snapshots and subtract). */
  readonly traffic: AdapterTraffic = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, lastFrameAt: 0 }

  constructor(private readonly options: Libp2pNetworkAdapterOptions) {
    super()
    this.libp2p = options.libp2p
    this.gate = options.gate
    this.protocol = options.protocol ?? AUTOMERGE_PROTOCOL
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES
    this.rateLimit = options.rateLimit ?? DEFAULT_RATE_LIMIT
    this.readyTimeoutMs = options.readyTimeoutMs ?? 1_000
    this.reopenDelayMs = options.reopenDelayMs ?? 250
  }

  isReady(): boolean {
    return this.ready
  }

  whenReady(): Promise<void> {
    if (this.ready) return Promise.resolve()
    return new Promise((resolve) => this.readyWaiters.push(resolve))
  }

  /** The principal behind a repo peer id, for sharePolicy decisions. */
  principalOf(repoPeerId: RepoPeerId): PeerPrincipal | undefined {
    const libp2pPeerId = this.byRepoPeer.get(repoPeerId)
    return libp2pPeerId === undefined ? undefined : this.gate.principalOf(libp2pPeerId)
  }

  /** The libp2p peer id behind a repo peer id. */
  libp2pPeerOf(repoPeerId: RepoPeerId): string | undefined {
    return this.byRepoPeer.get(repoPeerId)
  }

  connect(peerId: RepoPeerId, peerMetadata?: PeerMetadata): void {
    this.peerId = peerId
    this.peerMetadata = peerMetadata ?? {}
    this.connected = true
    this.ready = false
    void this.libp2p
      .handle(this.protocol, (stream, connection) => this.onInbound(stream, connection), {
        runOnLimitedConnection: true,
        maxInboundStreams: 4,
        force: true,
      })
      .then(() => {
        if (!this.connected) return
        // Ready once every peer connected right now has passed its handshake and joined (or failed), so a
        // find() right after start can reach them; never later than readyTimeoutMs.
        const connectedPeers = new Set([
          ...this.gate.authenticatedPeers(),
          ...this.libp2p
            .getConnections()
            .filter((c) => c.status === 'open')
            .map((c) => c.remotePeer.toString()),
        ])
        const joins = [...connectedPeers].map((p) =>
          this.gate
            .whenAuthenticated(p)
            .then(() => this.openOutbound(p))
            .then(() => this.joined(p))
            .catch(() => {}),
        )
        void Promise.all(joins).then(() => this.markReady())
        setTimeout(() => this.markReady(), this.readyTimeoutMs)
      })
    this.offs.push(
      this.gate.on('peer:authenticated', ({ peerId: p }) => {
        if (this.connected) void this.openOutbound(p)
      }),
    )
    const onDisconnect = (event: CustomEvent<PeerId>) => this.closeLink(event.detail.toString())
    this.libp2p.addEventListener('peer:disconnect', onDisconnect)
    this.offs.push(() => this.libp2p.removeEventListener('peer:disconnect', onDisconnect))
  }

  send(message: Message): void {
    if (!this.connected) return
    const libp2pPeerId = this.byRepoPeer.get(message.targetId)
    const link = libp2pPeerId === undefined ? undefined : this.links.get(libp2pPeerId)
    if (!link) return
    const bytes = cbor.encode(message)
    this.traffic.framesOut++
    this.traffic.bytesOut += bytes.byteLength
    this.traffic.lastFrameAt = performance.now()
    void this.outboundFor(link)
      .then((out) => out?.writer.write(bytes))
      .catch(() => {
        // only this link: a newer one to the same peer may be up by the time an old write fails
        if (this.links.get(link.libp2pPeerId) === link) this.closeLink(link.libp2pPeerId)
      })
  }

  disconnect(): void {
    this.connected = false
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    for (const off of this.offs) off()
    this.offs = []
    void this.libp2p.unhandle(this.protocol).catch(() => {})
    for (const id of [...this.links.keys()]) this.closeLink(id)
  }

  private markReady(): void {
    if (this.ready || !this.connected) return
    this.ready = true
    for (const resolve of this.readyWaiters.splice(0)) resolve()
  }

  /** Resolves when the peer's join has arrived, or when its link is gone. */
  private joined(libp2pPeerId: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const check = () => {
        const link = this.links.get(libp2pPeerId)
        if (!link || link.repoPeerId !== undefined || !this.connected) {
          this.off('peer-candidate', check)
          this.off('peer-disconnected', check)
          resolve()
        }
      }
      this.on('peer-candidate', check)
      this.on('peer-disconnected', check)
      check()
    })
  }

  private link(libp2pPeerId: string): Link {
    let link = this.links.get(libp2pPeerId)
    if (!link) {
      link = { libp2pPeerId, budget: new PeerBudget(this.rateLimit, this.maxFrameBytes) }
      this.links.set(libp2pPeerId, link)
    }
    return link
  }

  private async outboundFor(link: Link): Promise<Link['outbound']> {
    // A failed open is retried on the next send rather than silently losing every later message.
    if (!link.outbound) await (link.opening ?? this.openOutbound(link.libp2pPeerId))
    return link.outbound
  }

  private openOutbound(libp2pPeerId: string): Promise<void> {
    const link = this.link(libp2pPeerId)
    if (link.outbound) return Promise.resolve()
    if (link.opening) return link.opening
    link.opening = (async () => {
      const connection = preferredConnection(this.libp2p, libp2pPeerId)
      if (!connection) throw new Error('no open connection')
      const stream = await connection.newStream(this.protocol, { runOnLimitedConnection: true })
      const writer = new FrameWriter(stream, this.maxFrameBytes)
      const join: Join = { type: 'join', senderId: this.peerId!, peerMetadata: this.peerMetadata ?? {} }
      await writer.write(cbor.encode(join))
      if (!this.connected || this.links.get(libp2pPeerId) !== link) {
        stream.abort(new Error('adapter disconnected'))
        return
      }
      link.outbound = { stream, writer }
      stream.addEventListener('close', () => {
        if (link.outbound?.stream === stream) this.closeLink(libp2pPeerId)
      })
    })()
      .catch(() => {
        // The peer may not run the protocol yet (its adapter not connected): it will open towards us when it
        // does, and we answer its join by opening ours.
        if (this.links.get(libp2pPeerId) === link && !link.inbound) this.links.delete(libp2pPeerId)
      })
      .finally(() => {
        link.opening = undefined
      })
    return link.opening
  }

  private async onInbound(stream: Stream, connection: Connection): Promise<void> {
    const libp2pPeerId = connection.remotePeer.toString()
    if (!this.gate.isAuthenticated(libp2pPeerId)) {
      // Both ends finish the handshake at slightly different times: give the peer's a moment to complete.
      const passed = await this.gate.whenAuthenticated(libp2pPeerId).then(
        () => true,
        () => false,
      )
      if (!passed || !this.connected) {
        stream.abort(new PeerNotAuthenticatedError('handshake first'))
        if (!passed) {
          this.gate.drop(
            libp2pPeerId,
            new PeerNotAuthenticatedError('opened a sync stream without passing the handshake'),
          )
        }
        return
      }
    }
    const link = this.link(libp2pPeerId)
    if (link.inbound && link.inbound !== stream) link.inbound.abort(new Error('replaced by a newer stream'))
    link.inbound = stream
    try {
      // Charged on the length prefix, before the body is buffered.
      const charge = (bytes: number) => {
        const exceeded = link.budget.admit(bytes)
        if (exceeded === undefined) return
        const { burst, perSecond, burstBytes, bytesPerSecond } = link.budget.limit
        throw new PeerFloodError(
          exceeded === 'frames'
            ? `more than ${burst} frames at once or ${perSecond}/s sustained`
            : `more than ${burstBytes} bytes at once or ${bytesPerSecond} bytes/s sustained`,
        )
      }
      let first = true
      for await (const frame of readFrames(stream, this.maxFrameBytes, charge)) {
        if (!this.connected) break
        this.traffic.framesIn++
        this.traffic.bytesIn += frame.byteLength
        this.traffic.lastFrameAt = performance.now()
        this.options.onFrame?.(libp2pPeerId)
        const decoded = decodeFrame(frame)
        if (link.repoPeerId === undefined) {
          first = false
          this.onJoin(link, decoded)
          continue
        }
        // Every stream opens with a join. A peer whose side of the link closed and opened again while ours
        // stayed up (link churn at a heal) joins again on the link we hold: read as a message, that join was
        // "not addressed to this peer" and the peer was dropped (50-till festival, session 5).
        if (first) {
          first = false
          if ((decoded as Partial<Join> | undefined)?.type === 'join') {
            this.onRejoin(link, decoded as Partial<Join>)
            continue
          }
        }
        const message = asMessage(decoded, link.repoPeerId, this.peerId!)
        this.emit('message', message)
      }
    } catch (err) {
      if (link.inbound !== stream) return
      const name = (err as Error)?.name
      if (name === 'FrameTooLargeError' || name === 'MalformedFrameError' || name === 'PeerFloodError') {
        this.closeLink(libp2pPeerId)
        this.gate.drop(libp2pPeerId, err as DropError)
        return
      }
    }
    if (link.inbound === stream) this.closeLink(libp2pPeerId)
  }

  private onJoin(link: Link, decoded: unknown): void {
    const join = decoded as Partial<Join>
    if (join?.type !== 'join' || typeof join.senderId !== 'string' || join.senderId.length === 0) {
      throw new MalformedFrameError('first frame is not a join')
    }
    if (this.options.bindRepoPeerId && join.senderId !== link.libp2pPeerId) {
      throw new MalformedFrameError(
        `join claims repo peer id ${join.senderId}, not its authenticated peer id`,
      )
    }
    const owner = this.byRepoPeer.get(join.senderId)
    if (owner !== undefined && owner !== link.libp2pPeerId) {
      throw new MalformedFrameError(`repo peer id ${join.senderId} is already used by another peer`)
    }
    const peerMetadata = isPlainObject(join.peerMetadata) ? (join.peerMetadata as PeerMetadata) : {}
    link.repoPeerId = join.senderId
    this.byRepoPeer.set(join.senderId, link.libp2pPeerId)
    void this.openOutbound(link.libp2pPeerId)
    this.emit('peer-candidate', { peerId: join.senderId, peerMetadata })
  }

  // A join on a new stream of a link already joined: the same repo peer id, or the peer is misbehaving.
  private onRejoin(link: Link, join: Partial<Join>): void {
    if (join.senderId !== link.repoPeerId) {
      throw new MalformedFrameError(`a new stream joins as ${String(join.senderId)}, not as its link's peer`)
    }
    void this.openOutbound(link.libp2pPeerId)
  }

  private closeLink(libp2pPeerId: string): void {
    const link = this.links.get(libp2pPeerId)
    if (!link) return
    this.links.delete(libp2pPeerId)
    link.outbound?.stream.abort(new Error('link closed'))
    link.inbound?.abort(new Error('link closed'))
    if (link.repoPeerId !== undefined) {
      this.byRepoPeer.delete(link.repoPeerId)
      this.emit('peer-disconnected', { peerId: link.repoPeerId })
    }
    this.reopenLater(libp2pPeerId)
  }

  /**
   * A sync stream can die (reset, a duplicate connection pruned) while the peer stays connected and
   * authenticated: without a new join neither side would sync again until a reconnect. One attempt per
   * closure; a peer whose adapter is gone refuses the protocol and the attempt ends there.
   */
  private reopenLater(libp2pPeerId: string): void {
    if (!this.connected) return
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      const stillThere = this.libp2p
        .getConnections()
        .some((c) => c.remotePeer.toString() === libp2pPeerId && c.status === 'open')
      if (
        this.connected &&
        stillThere &&
        this.gate.isAuthenticated(libp2pPeerId) &&
        !this.links.has(libp2pPeerId)
      ) {
        void this.openOutbound(libp2pPeerId)
      }
    }, this.reopenDelayMs)
    this.timers.add(timer)
  }
}

function decodeFrame(frame: Uint8Array): unknown {
  try {
    return cbor.decode(frame)
  } catch {
    throw new MalformedFrameError('frame is not CBOR')
  }
}

/**
 * A repo message must be addressed to us. Who may appear as its sender depends on its type: the connection
 * is what the handshake authenticated, and the join bound one repo peer id to it. Every message a repo
 * authors itself (sync, request, doc-unavailable, remote-subscription-change, remote-heads-changed, and any
 * future type) carries its own id, so it must be that joined id. An ephemeral message is the one exception:
 * automerge-repo forwards a broadcast unchanged, under its author's id (DocSynchronizer
 * receiveEphemeralMessage), so a relaying peer legitimately sends it with a third peer's senderId. That id is
 * a claim, not an authenticated origin; it may not be ours (a reflection), and the fields the repo
 * deduplicates on (sessionId, count) must be well formed.
 */
function asMessage(decoded: unknown, joinedId: RepoPeerId, self: RepoPeerId): Message {
  if (!isPlainObject(decoded)) throw new MalformedFrameError('message is not a map')
  const m = decoded as Partial<Message> & { sessionId?: unknown; count?: unknown }
  if (typeof m.type !== 'string') throw new MalformedFrameError('message has no type')
  if (typeof m.senderId !== 'string' || m.senderId.length === 0) {
    throw new MalformedFrameError('message has no senderId')
  }
  if (m.type === 'ephemeral') {
    if (m.senderId === self) throw new MalformedFrameError('ephemeral message claims to come from this peer')
    if (typeof m.sessionId !== 'string' || !Number.isSafeInteger(m.count) || (m.count as number) < 0) {
      throw new MalformedFrameError('ephemeral message without a valid sessionId and count')
    }
    if (typeof m.documentId !== 'string' || !(m.data instanceof Uint8Array)) {
      throw new MalformedFrameError('ephemeral message without documentId and data')
    }
  } else if (m.senderId !== joinedId) {
    throw new MalformedFrameError(`a ${m.type} message's senderId does not match the joined peer`)
  }
  if (m.targetId !== self) throw new MalformedFrameError('message is not addressed to this peer')
  if (m.data !== undefined && !(m.data instanceof Uint8Array))
    throw new MalformedFrameError('message data is not bytes')
  if (m.documentId !== undefined && typeof m.documentId !== 'string') {
    throw new MalformedFrameError('message documentId is not a string')
  }
  return decoded as Message
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array)
}
