// The access handshake (/lakou/hello/1.0.0). On every new connection the dialing side opens a hello stream;
// each side shows its certificate, its device public key and a device-key signature over its own libp2p peer
// id. Noise already proves who holds the peer id, so the binding signature stops a copied certificate from
// being replayed by any other peer. The certificate itself is judged by an injected PeerAuthenticator.
// A peer that fails is hung up, reported with a typed error, and refused for a cooldown, except a peer that
// passed the handshake before and was only slow this time (a timeout, not a refusal): it is hung up and
// redialled (reconnect.ts), not refused.
import { cbor } from '@automerge/automerge-repo/slim'
import { type Connection, KEEP_ALIVE, type Libp2p, type PeerId, type Stream } from '@libp2p/interface'
import { verifyEd25519, verifyEd25519Now } from './ed25519.ts'
import {
  type DropError,
  FrameTooLargeError,
  HandshakeRejectedError,
  HandshakeTimeoutError,
  MalformedFrameError,
  PeerNotAuthenticatedError,
} from './errors.ts'
import { TypedEvents } from './events.ts'
import { FrameWriter, readFrames } from './frames.ts'

/** The peer-store tag that makes libp2p redial a certified peer (any tag starting with KEEP_ALIVE). */
const KEEP_ALIVE_TAG = `${KEEP_ALIVE}-lakou`

export const HELLO_PROTOCOL = '/lakou/hello/1.0.0'
const BINDING_CONTEXT = new TextEncoder().encode('lakou/peer-binding/v1')
const MAX_HELLO_BYTES = 16 * 1024
/** Room for `HelloAttachment` bytes in a hello (the rest of it, certificate included, is ~1 KiB). */
export const MAX_HELLO_ATTACHMENT_BYTES = 12 * 1024

/** Who a peer is, once its certificate is accepted. */
export interface PeerPrincipal {
  kind: 'device' | 'relay'
  devicePublicKey: Uint8Array
  /** The venue that certified the device; absent for federation relays. */
  venueId?: string
  /** e.g. admin, cashier, door, relay. */
  role?: string
}

/** What a peer presents in its hello, after the binding signature has been checked. */
export interface PresentedCredentials {
  certificate: Uint8Array
  devicePublicKey: Uint8Array
  remotePeerId: string
}

/** Judges a presented certificate. Throw HandshakeRejectedError (or any error) to refuse. */
export interface PeerAuthenticator {
  authenticate(presented: PresentedCredentials): Promise<PeerPrincipal>
}

/** This node's own credentials: its certificate and a signer holding its device key. */
export interface LocalCredentials {
  certificate: Uint8Array
  devicePublicKey: Uint8Array
  sign(message: Uint8Array): Promise<Uint8Array>
}

/** The message the device key signs to bind itself to a libp2p peer id. */
export function peerBindingMessage(peerId: string): Uint8Array {
  const id = new TextEncoder().encode(peerId)
  const out = new Uint8Array(BINDING_CONTEXT.byteLength + id.byteLength)
  out.set(BINDING_CONTEXT)
  out.set(id, BINDING_CONTEXT.byteLength)
  return out
}

export interface PeerAccessEvents extends Record<string, unknown> {
  'peer:authenticated': { peerId: string; principal: PeerPrincipal }
  'peer:rejected': { peerId: string; error: DropError }
  'peer:dropped': { peerId: string; error: DropError }
  'peer:gone': { peerId: string }
}

/**
 * Opaque bytes a node adds to each hello it sends, and is handed from each hello it accepts, before the
 * peer counts as authenticated (so before any sync stream to that peer opens). sync/node sends the heads
 * of the documents it holds (link-resync.ts): a new link then skips what both sides already share.
 */
export interface HelloAttachment {
  /** Bytes for the hello being sent now (at most MAX_HELLO_ATTACHMENT_BYTES; larger is left out). */
  local(): Uint8Array | undefined
  /** The attachment of a peer's accepted hello (undefined: it sent none), from a certified peer only. */
  remote(peerId: string, bytes: Uint8Array | undefined): void
}

export interface PeerAccessOptions {
  credentials: LocalCredentials
  attachment?: HelloAttachment
  authenticator: PeerAuthenticator
  /** How long a connected peer has to complete the handshake (its own time: see deadline()). */
  helloTimeoutMs?: number
  /** The same for a peer that passed the handshake before in this process (default 6 x helloTimeoutMs). */
  certifiedHelloTimeoutMs?: number
  /** How long a dropped or rejected peer is refused. */
  cooldownMs?: number
  /** Wall clock for cooldowns (ms); tests inject one. */
  now?: () => number
  log?: (line: string) => void
}

/** Where a peer's handshake stands (diagnostics: links that do not come back after a heal). */
export interface HandshakeState {
  authenticated: boolean
  certifiedBefore: boolean
  /** Status of the connection our hello in flight runs on; absent: no hello of ours in flight. */
  helloInFlight?: string
  /** Callers waiting for its outcome. */
  waiters: number
  cooldownMs: number
}

/** Peers remembered as certified before (a bound on memory; the oldest are forgotten first). */
const MAX_REMEMBERED_PEERS = 10_000

/**
 * Whether a drop refuses the peer for the cooldown. A refusal, a forged or revoked certificate, a malformed
 * or oversized frame, a flood: yes. A peer that passed the handshake before and only timed out this time
 * (or opened a stream before a handshake that then timed out): no, it was slow, not wrong; refusing it for
 * 30 s kept festival heals waiting on a loaded machine. A stranger that stays silent still gets the cooldown.
 */
export function refusesForCooldown(error: DropError, certifiedBefore: boolean): boolean {
  if (!certifiedBefore) return true
  return !(error instanceof HandshakeTimeoutError || error instanceof PeerNotAuthenticatedError)
}

/** One shared wait per peer for its handshake's outcome, however many callers wait on it. */
interface Waiter {
  promise: Promise<PeerPrincipal>
  resolve(principal: PeerPrincipal): void
  reject(error: DropError): void
  callers: number
}

interface Hello {
  v: 1
  cert: Uint8Array
  key: Uint8Array
  sig: Uint8Array
  /** HelloAttachment bytes (absent from older peers' hellos). */
  att?: Uint8Array
}

export class PeerAccess extends TypedEvents<PeerAccessEvents> {
  private libp2p?: Libp2p
  private readonly principals = new Map<string, PeerPrincipal>()
  private readonly pending = new Map<string, { connection: Connection; attempt: Promise<void> }>()
  private readonly deniedUntil = new Map<string, number>()
  /** Peers that passed the handshake in this process (insertion order = age). */
  private readonly certified = new Map<string, true>()
  private readonly waiters = new Map<string, Waiter>()
  private readonly timers = new Set<() => void>()
  /** Bindings (peer id, device key, signature) verified before: a returning peer's is not verified again. */
  private readonly validBindings = new Set<string>()
  private readonly helloTimeoutMs: number
  private readonly certifiedHelloTimeoutMs: number
  private readonly cooldownMs: number
  private readonly now: () => number
  private readonly log: (line: string) => void
  private unsubscribe: Array<() => void> = []
  private signedHello?: { self: string; hello: Promise<Hello> }

  constructor(private readonly options: PeerAccessOptions) {
    super()
    this.helloTimeoutMs = options.helloTimeoutMs ?? 10_000
    this.certifiedHelloTimeoutMs = options.certifiedHelloTimeoutMs ?? 6 * this.helloTimeoutMs
    this.cooldownMs = options.cooldownMs ?? 30_000
    this.now = options.now ?? Date.now
    this.log = options.log ?? ((line) => console.warn(line))
  }

  async start(libp2p: Libp2p): Promise<void> {
    this.libp2p = libp2p
    void this.ownHello().catch(() => {}) // signed before the first peer arrives
    await libp2p.handle(HELLO_PROTOCOL, (stream, connection) => this.answer(stream, connection), {
      runOnLimitedConnection: true,
      maxInboundStreams: 2,
    })
    const onOpen = (event: CustomEvent<Connection>) => this.onConnection(event.detail)
    const onDisconnect = (event: CustomEvent<PeerId>) => this.forget(event.detail.toString())
    libp2p.addEventListener('connection:open', onOpen)
    libp2p.addEventListener('peer:disconnect', onDisconnect)
    this.unsubscribe = [
      () => libp2p.removeEventListener('connection:open', onOpen),
      () => libp2p.removeEventListener('peer:disconnect', onDisconnect),
    ]
    for (const connection of libp2p.getConnections()) this.onConnection(connection)
  }

  async stop(): Promise<void> {
    for (const off of this.unsubscribe) off()
    this.unsubscribe = []
    for (const cancel of this.timers) cancel()
    this.timers.clear()
    await this.libp2p?.unhandle(HELLO_PROTOCOL)
    this.principals.clear()
    this.libp2p = undefined
  }

  isAuthenticated(peerId: string): boolean {
    return this.principals.has(peerId)
  }

  principalOf(peerId: string): PeerPrincipal | undefined {
    return this.principals.get(peerId)
  }

  authenticatedPeers(): string[] {
    return [...this.principals.keys()]
  }

  /** Whether the peer passed the handshake before in this process and was not dropped for misbehaving. */
  isCertifiedBefore(peerId: string): boolean {
    return this.certified.has(peerId)
  }

  handshakeState(peerId: string): HandshakeState {
    const inFlight = this.pending.get(peerId)
    return {
      authenticated: this.principals.has(peerId),
      certifiedBefore: this.certified.has(peerId),
      ...(inFlight ? { helloInFlight: inFlight.connection.status } : {}),
      waiters: this.waiters.get(peerId)?.callers ?? 0,
      cooldownMs: this.cooldownLeft(peerId),
    }
  }

  /** ms left of the peer's cooldown (0: not refused). */
  cooldownLeft(peerId: string): number {
    const until = this.deniedUntil.get(peerId)
    return until === undefined ? 0 : Math.max(0, until - this.now())
  }

  /**
   * Resolves once the peer has passed the handshake; rejects if it fails, or with HandshakeTimeoutError after
   * `timeoutMs` of the peer's time (deadline(): not counting this process's own blocked loop). Default: the
   * hello deadline of that peer. Every caller waiting on one peer shares one wait (no listener per caller).
   */
  async whenAuthenticated(peerId: string, timeoutMs = this.helloDeadlineMs(peerId)): Promise<PeerPrincipal> {
    const known = this.principals.get(peerId)
    if (known) return known
    let waiter = this.waiters.get(peerId)
    if (!waiter) {
      const { promise, resolve, reject } = Promise.withResolvers<PeerPrincipal>()
      promise.catch(() => {}) // settled with nobody waiting any more: not an unhandled rejection
      waiter = { promise, resolve, reject, callers: 0 }
      this.waiters.set(peerId, waiter)
    }
    const shared = waiter
    shared.callers++
    let cancel = () => {}
    const timeout = new Promise<never>((_, reject) => {
      cancel = deadline(timeoutMs, () =>
        reject(new HandshakeTimeoutError(`peer ${peerId} not authenticated within ${timeoutMs} ms`)),
      )
    })
    try {
      return await Promise.race([shared.promise, timeout])
    } finally {
      cancel()
      if (--shared.callers === 0 && this.waiters.get(peerId) === shared) this.waiters.delete(peerId)
    }
  }

  /**
   * Hang up on a peer for a reason, report it, and refuse it for the cooldown unless it only was slow
   * (refusesForCooldown). The node keeps running.
   */
  drop(peerId: string, error: DropError): void {
    const refuse = refusesForCooldown(error, this.certified.has(peerId))
    this.log(
      `lakou/net: dropped peer ${peerId}: ${error.name}: ${error.message}${refuse ? '' : ' (certified before: no cooldown, redialled)'}`,
    )
    if (refuse) {
      this.deniedUntil.set(peerId, Math.max(this.deniedUntil.get(peerId) ?? 0, this.now() + this.cooldownMs))
      this.certified.delete(peerId)
    }
    this.principals.delete(peerId)
    this.settle(peerId, { error })
    this.emit('peer:dropped', { peerId, error })
    const remote = this.peerIdOf(peerId)
    if (!remote || !this.libp2p) return
    const libp2p = this.libp2p
    if (!refuse) {
      // A handshake still running on an open connection decides for itself (its own deadline).
      const inFlight = this.pending.get(peerId)
      if (inFlight?.connection.status === 'open') return
      void libp2p.hangUp(remote).catch(() => {})
      return
    }
    // Untag before hanging up: the reconnect queue looks at the tag when the connection closes.
    void libp2p.peerStore
      .merge(remote, { tags: { [KEEP_ALIVE_TAG]: undefined } })
      .catch(() => {})
      .finally(() => libp2p.hangUp(remote).catch(() => {}))
  }

  /** How long this peer has to complete the handshake: longer for one that passed it before. */
  private helloDeadlineMs(peerId: string): number {
    return this.certified.has(peerId) ? this.certifiedHelloTimeoutMs : this.helloTimeoutMs
  }

  /** Ends the shared wait on a peer's handshake. */
  private settle(peerId: string, outcome: { principal: PeerPrincipal } | { error: DropError }): void {
    const waiter = this.waiters.get(peerId)
    if (!waiter) return
    this.waiters.delete(peerId)
    if ('principal' in outcome) waiter.resolve(outcome.principal)
    else waiter.reject(outcome.error)
  }

  private remember(peerId: string): void {
    this.certified.delete(peerId)
    this.certified.set(peerId, true)
    if (this.certified.size > MAX_REMEMBERED_PEERS) {
      const oldest = this.certified.keys().next().value
      if (oldest !== undefined) this.certified.delete(oldest)
    }
  }

  private peerIdOf(peerId: string): PeerId | undefined {
    return this.libp2p?.getConnections().find((c) => c.remotePeer.toString() === peerId)?.remotePeer
  }

  private isDenied(peerId: string): boolean {
    const until = this.deniedUntil.get(peerId)
    if (until === undefined) return false
    if (until > this.now()) return true
    this.deniedUntil.delete(peerId)
    return false
  }

  private forget(peerId: string): void {
    if (this.libp2p?.getConnections().some((c) => c.remotePeer.toString() === peerId)) return
    if (this.principals.delete(peerId)) this.emit('peer:gone', { peerId })
  }

  private onConnection(connection: Connection): void {
    const peerId = connection.remotePeer.toString()
    if (this.isDenied(peerId)) {
      void connection.close().catch(() => {})
      return
    }
    if (this.principals.has(peerId)) return
    // One hello in flight per peer, unless the one in flight is on a connection that is gone: a greet stuck
    // on a connection closed under it (a partition's cut) kept the heal's new connection from ever saying
    // hello, and the peer hung it up after the hello timeout (festival heals under load).
    const inFlight = this.pending.get(peerId)
    if (connection.direction === 'outbound' && inFlight?.connection.status !== 'open') {
      const attempt = this.greetWithRetry(peerId, connection).finally(() => {
        if (this.pending.get(peerId)?.attempt === attempt) this.pending.delete(peerId)
      })
      this.pending.set(peerId, { connection, attempt })
    }
    // Whatever the direction, a peer that has not passed the handshake in time is hung up.
    const cancel = deadline(this.helloDeadlineMs(peerId), () => {
      this.timers.delete(cancel)
      if (!this.principals.has(peerId) && connection.status === 'open') {
        this.reject(peerId, new HandshakeTimeoutError('handshake timeout'))
      }
    })
    this.timers.add(cancel)
  }

  /**
   * A refused or malformed hello drops the peer. A transport failure (the connection closed mid-handshake,
   * e.g. a duplicate connection pruned after both sides dialled, or a stream negotiation that timed out on a
   * starved till) does not: the hello is retried, up to 3 times, on an open connection to the peer, and the
   * hello timeout remains the backstop.
   */
  private async greetWithRetry(peerId: string, first: Connection): Promise<void> {
    let connection: Connection | undefined = first
    for (let attempt = 0; connection && attempt < 3 && !this.principals.has(peerId); attempt++) {
      try {
        await this.greet(connection)
        return
      } catch (err) {
        if (isRejection(err)) {
          this.reject(peerId, err)
          return
        }
        this.log(`lakou/net: hello to ${peerId} failed in transit (${(err as Error)?.message}), retrying`)
        connection = this.libp2p
          ?.getConnections()
          .find((c) => c.remotePeer.toString() === peerId && c.status === 'open')
      }
    }
  }

  /** Dialing side: send our hello, then judge the answer. */
  private async greet(connection: Connection): Promise<void> {
    // The stream's protocol negotiation is given the peer's time too (deadline()), not wall time.
    const negotiation = new AbortController()
    const cancel = deadline(this.helloDeadlineMs(connection.remotePeer.toString()), () =>
      negotiation.abort(new HandshakeTimeoutError('hello stream not negotiated in time')),
    )
    let stream: Stream
    try {
      stream = await connection.newStream(HELLO_PROTOCOL, {
        runOnLimitedConnection: true,
        signal: negotiation.signal,
      })
    } finally {
      cancel()
    }
    try {
      await new FrameWriter(stream, MAX_HELLO_BYTES).write(await this.helloBytes())
      const peerId = connection.remotePeer.toString()
      const answer = await this.firstFrame(stream, peerId)
      await this.accept(peerId, answer)
      await stream.close().catch(() => {})
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
  }

  /** Answering side: judge the hello, then answer with ours (or with the reason for refusing). */
  private async answer(stream: Stream, connection: Connection): Promise<void> {
    const peerId = connection.remotePeer.toString()
    const writer = new FrameWriter(stream, MAX_HELLO_BYTES)
    try {
      if (this.isDenied(peerId)) throw new HandshakeRejectedError('peer is in cooldown after being dropped')
      const hello = await this.firstFrame(stream, peerId)
      await this.accept(peerId, hello, async () => writer.write(await this.helloBytes()))
      await stream.close().catch(() => {})
    } catch (err) {
      if (!isRejection(err)) {
        // The stream or connection died mid-handshake: not the peer's fault as far as we can tell.
        stream.abort(err as Error)
        return
      }
      await writer.write(cbor.encode({ v: 1, error: String((err as Error).message) })).catch(() => {})
      await stream.close().catch(() => {})
      this.reject(peerId, err)
    }
  }

  private async firstFrame(stream: Stream, peerId: string): Promise<Uint8Array> {
    const frames = readFrames(stream, MAX_HELLO_BYTES)
    let cancel: (() => void) | undefined
    const timeout = new Promise<never>((_, reject) => {
      cancel = deadline(this.helloDeadlineMs(peerId), () =>
        reject(new HandshakeTimeoutError('no hello received in time')),
      )
    })
    try {
      const first = await Promise.race([frames.next(), timeout])
      if (first.done) throw new Error('stream closed before hello')
      return first.value
    } finally {
      cancel?.()
    }
  }

  private async accept(peerId: string, bytes: Uint8Array, answerWith?: () => Promise<void>): Promise<void> {
    const hello = decodeHello(bytes)
    // The binding and the certificate are checked side by side: each await is a turn of an event loop that a
    // loaded till shares with bulk work, and a heal's hellos queue behind it. The binding's verdict comes first.
    const [bound, judged] = await Promise.all([
      this.bindingHolds(peerId, hello),
      this.options.authenticator
        .authenticate({ certificate: hello.cert, devicePublicKey: hello.key, remotePeerId: peerId })
        .then(
          (principal) => ({ principal }),
          (error: unknown) => ({ error }),
        ),
    ])
    if (!bound) throw new HandshakeRejectedError('device key did not sign this peer id')
    if ('error' in judged) {
      // Whatever the authenticator throws is a refusal of this certificate.
      const err = judged.error
      throw err instanceof HandshakeRejectedError
        ? err
        : new HandshakeRejectedError(String((err as Error)?.message ?? err))
    }
    const principal = judged.principal
    // Before the peer counts as authenticated: what it attached is in place when its sync streams open.
    try {
      this.options.attachment?.remote(peerId, hello.att)
    } catch (err) {
      this.log(`lakou/net: hello attachment from ${peerId}: ${(err as Error).message}`)
    }
    // Record before answering: the dialer opens sync streams as soon as it reads our answer.
    this.principals.set(peerId, principal)
    try {
      await answerWith?.()
    } catch (err) {
      this.principals.delete(peerId)
      throw err
    }
    this.remember(peerId)
    this.settle(peerId, { principal })
    this.emit('peer:authenticated', { peerId, principal })
    this.keepAlive(peerId, true)
  }

  /**
   * A certified peer is tagged keep-alive: libp2p's reconnect queue redials it when the connection drops
   * (a missed ping on a loaded till, a Wi-Fi blip), instead of the two devices staying apart until the next
   * mDNS announcement or never. A dropped peer loses the tag first, so a misbehaving one is not redialled.
   */
  private keepAlive(peerId: string, on: boolean): void {
    const remote = this.peerIdOf(peerId)
    if (!remote || !this.libp2p) return
    void this.libp2p.peerStore
      .merge(remote, { tags: { [KEEP_ALIVE_TAG]: on ? { value: 50 } : undefined } })
      .catch(() => {})
  }

  private reject(peerId: string, err: unknown): void {
    const error = isRejection(err) ? err : new HandshakeRejectedError((err as Error)?.message ?? String(err))
    if (!this.libp2p) return
    this.settle(peerId, { error })
    this.emit('peer:rejected', { peerId, error })
    this.drop(peerId, error)
  }

  /**
   * Whether the device key signed this peer id. Checked on this thread (node:crypto's synchronous verify,
   * ~0.1 ms) where the runtime has it, not on libuv's pool: after a heal that pool holds a till's bulk work
   * (thousands of record verifies, file writes) and a hello queued behind it waited seconds to tens of
   * seconds. A binding seen valid before (a peer coming back) is not checked again.
   */
  private async bindingHolds(peerId: string, hello: Hello): Promise<boolean> {
    const key = `${peerId} ${bytesKey(hello.key)} ${bytesKey(hello.sig)}`
    if (this.validBindings.has(key)) return true
    const message = peerBindingMessage(peerId)
    const ok = verifyEd25519Now
      ? verifyEd25519Now(hello.key, hello.sig, message)
      : await verifyEd25519(hello.key, hello.sig, message)
    if (ok) {
      this.validBindings.add(key)
      if (this.validBindings.size > MAX_REMEMBERED_PEERS) {
        const oldest = this.validBindings.values().next().value
        if (oldest !== undefined) this.validBindings.delete(oldest)
      }
    }
    return ok
  }

  /** Our hello as sent now: signed once per host, with this moment's attachment. */
  private async helloBytes(): Promise<Uint8Array> {
    const hello = await this.ownHello()
    const att = this.options.attachment?.local()
    return cbor.encode(att && att.byteLength <= MAX_HELLO_ATTACHMENT_BYTES ? { ...hello, att } : hello)
  }

  /** Our hello, signed once per host (the peer id it binds does not change), not once per handshake. */
  private ownHello(): Promise<Hello> {
    const self = this.libp2p?.peerId.toString() ?? ''
    if (this.signedHello?.self === self) return this.signedHello.hello
    const { credentials } = this.options
    const hello = credentials
      .sign(peerBindingMessage(self))
      .then((sig): Hello => ({ v: 1, cert: credentials.certificate, key: credentials.devicePublicKey, sig }))
    const entry = { self, hello }
    this.signedHello = entry
    // A signer that failed once may work the next time: do not keep the failure.
    hello.catch(() => {
      if (this.signedHello === entry) this.signedHello = undefined
    })
    return hello
  }
}

/** A refusal or protocol violation by the peer, as opposed to a transport failure. */
function isRejection(err: unknown): err is DropError {
  return (
    err instanceof HandshakeRejectedError ||
    err instanceof MalformedFrameError ||
    err instanceof FrameTooLargeError
  )
}

function decodeHello(bytes: Uint8Array): Hello {
  let value: unknown
  try {
    value = cbor.decode(bytes)
  } catch {
    throw new MalformedFrameError('hello is not CBOR')
  }
  const h = value as Partial<Hello> & { error?: unknown }
  if (typeof h?.error === 'string') throw new HandshakeRejectedError(`refused by peer: ${h.error}`)
  if (h?.v !== 1 || !isBytes(h.cert) || !isBytes(h.key) || !isBytes(h.sig)) {
    throw new MalformedFrameError('hello has the wrong shape')
  }
  if (h.att !== undefined && !isBytes(h.att)) throw new MalformedFrameError('hello attachment is not bytes')
  return {
    v: 1,
    cert: new Uint8Array(h.cert),
    key: new Uint8Array(h.key),
    sig: new Uint8Array(h.sig),
    ...(h.att ? { att: new Uint8Array(h.att) } : {}),
  }
}

function bytesKey(bytes: Uint8Array): string {
  let out = ''
  for (const b of bytes) out += b.toString(16).padStart(2, '0')
  return out
}

function isBytes(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array
}

/** The clock a deadline reads and arms timers on; tests inject a fake one. */
export interface DeadlineClock {
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

const loopClock: DeadlineClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

/** Checks per deadline: at each one the lateness of the check itself is measured. */
const DEADLINE_CHECKS = 8

/**
 * Calls `expired` once the peer has had `ms` of its own time, i.e. wall time minus the time this process's
 * own event loop could not run. The deadline checks itself every ms/8; a check that fires late means the
 * loop was blocked (or starved of CPU) that long, and what the peer sent meanwhile may still sit unread in
 * the socket (timers run before I/O in each turn of the loop), so that lateness is not charged to the peer.
 * Each check charges at least the time since the previous one minus its lateness, so the deadline ends after
 * a bounded number of turns however busy the loop is. Festival tills flooded at a heal, and 50 tills on two
 * cores, let wall-clock hello timers fire ahead of hellos already received and dropped certified peers.
 * Returns a cancel function.
 */
export function deadline(ms: number, expired: () => void, clock: DeadlineClock = loopClock): () => void {
  const start = clock.now()
  const step = ms / DEADLINE_CHECKS
  let ownDelay = 0
  let handle: unknown
  let done = false
  const arm = (wait: number) => {
    const due = clock.now() + wait
    handle = clock.setTimeout(() => {
      const now = clock.now()
      ownDelay += Math.max(0, now - due)
      const peerTime = now - start - ownDelay
      if (peerTime >= ms) {
        done = true
        expired()
      } else arm(Math.min(step, ms - peerTime))
    }, wait)
  }
  arm(step)
  return () => {
    if (!done) clock.clearTimeout(handle)
  }
}

/**
 * An AbortSignal that aborts (with a TimeoutError) after `ms` of the peer's time (deadline()), for libp2p
 * calls that take a signal: a dial between two starved tills is not given up while the time went to our own
 * blocked loop. `cancel` releases its timer once the call is done.
 */
export function peerTimeSignal(
  ms: number,
  what: string,
  clock: DeadlineClock = loopClock,
): { signal: AbortSignal; cancel: () => void } {
  const controller = new AbortController()
  const cancel = deadline(
    ms,
    () => controller.abort(new DOMException(`${what} not done within ${ms} ms`, 'TimeoutError')),
    clock,
  )
  return { signal: controller.signal, cancel }
}
