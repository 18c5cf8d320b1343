// The libp2p side of the direct record push (sync/docs/push.ts): one long-lived stream per authenticated
// peer, opened when the peer passes the handshake, length-prefixed frames. Under back-pressure frames wait
// in order up to 4 MiB per peer, then are dropped (anti-entropy and the CRDT sync deliver the records
// anyway); so are they when the stream stops taking writes. Streams from peers that have not
// passed the handshake, oversized frames and malformed messages get the peer dropped through sync/net.
import type { Libp2p, Stream } from '@libp2p/interface'
import * as lp from 'it-length-prefixed'
import type { PushTransport } from '../docs/mod.ts'
import { stamp } from '../docs/stage-trace.ts'
import {
  FrameTooLargeError,
  MalformedFrameError,
  type PeerAccess,
  PeerNotAuthenticatedError,
} from '../net/mod.ts'

export const PUSH_PROTOCOL = '/lakou/record-push/1.0.0'
const MAX_FRAME_BYTES = 256 * 1024
type Frame = ReturnType<typeof lp.encode.single>
/** Frames held per peer while its stream needs a drain. */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024

export class Libp2pPushTransport implements PushTransport {
  readonly #host: Libp2p
  readonly #access: PeerAccess
  readonly #out = new Map<string, Promise<Stream | undefined>>()
  readonly #listeners = new Set<(peerId: string, message: Uint8Array) => void>()
  // Frames waiting for a stream to drain (see sendTo).
  readonly #queued = new WeakMap<Stream, { frames: Frame[]; bytes: number }>()
  #offs: Array<() => void> = []

  constructor(host: Libp2p, access: PeerAccess) {
    this.#host = host
    this.#access = access
  }

  async start(): Promise<void> {
    await this.#host.handle(
      PUSH_PROTOCOL,
      (stream, connection) => this.#read(stream, connection.remotePeer.toString()),
      {
        runOnLimitedConnection: true,
        maxInboundStreams: 4,
      },
    )
    this.#offs.push(
      this.#access.on('peer:authenticated', ({ peerId }) => void this.#stream(peerId)),
      this.#access.on('peer:gone', ({ peerId }) => this.#out.delete(peerId)),
      this.#access.on('peer:dropped', ({ peerId }) => this.#out.delete(peerId)),
    )
  }

  async stop(): Promise<void> {
    for (const off of this.#offs) off()
    this.#offs = []
    for (const s of this.#out.values()) void s.then((x) => x?.close().catch(() => {}))
    this.#out.clear()
    await this.#host.unhandle(PUSH_PROTOCOL).catch(() => {})
  }

  #stream(peerId: string): Promise<Stream | undefined> {
    let s = this.#out.get(peerId)
    if (!s) {
      const conn = this.#host
        .getConnections()
        .find((c) => c.remotePeer.toString() === peerId && c.status === 'open')
      s = conn
        ? conn.newStream(PUSH_PROTOCOL, { runOnLimitedConnection: true }).then(
            (stream) => {
              stream.addEventListener('close', () => {
                if (this.#out.get(peerId) === s) this.#out.delete(peerId)
              })
              return stream
            },
            () => {
              this.#out.delete(peerId)
              return undefined
            },
          )
        : Promise.resolve(undefined)
      if (conn) this.#out.set(peerId, s)
    }
    return s
  }

  sendTo(peerId: string, message: Uint8Array): void {
    if (!this.#access.isAuthenticated(peerId)) return
    const frame = lp.encode.single(message)
    void this.#stream(peerId).then((stream) => {
      if (stream?.status !== 'open') return
      // Frames wait (bounded) while the stream needs a drain, in order: an anti-entropy answer is several
      // large frames at once, and dropping all but the first left a healed partition waiting for the next
      // summary. Beyond the bound they are dropped (the next summary or the page brings the records).
      let q = this.#queued.get(stream)
      if (!q && !stream.writableNeedsDrain) {
        try {
          stream.send(frame)
        } catch (err) {
          stream.abort(err as Error) // its close listener forgets it: the next send opens another
        }
        return
      }
      if (!q) {
        q = { frames: [], bytes: 0 }
        this.#queued.set(stream, q)
        this.#drainLater(peerId, stream, q)
      }
      if (q.bytes + frame.byteLength > MAX_QUEUED_BYTES) return
      q.frames.push(frame)
      q.bytes += frame.byteLength
    })
  }

  // Sends the held frames on the stream's next 'drain' event. Not with stream.onDrain(): libp2p (utils 7)
  // keeps the promise it resolved at the first drain, so every later onDrain() resolves at once even while
  // the stream still needs a drain; re-arming on it looped on microtasks forever and starved the till
  // (festival: tills pegged at 100%, their dials and stats timing out). A stream that stops taking writes
  // while still 'open' (send() throws) drops its held frames (anti-entropy and the pages bring the records)
  // and is aborted; the next send opens a new one.
  #drainLater(peerId: string, stream: Stream, q: { frames: Frame[]; bytes: number }) {
    const drop = () => {
      if (this.#queued.get(stream) === q) this.#queued.delete(stream)
      q.frames.length = 0
      q.bytes = 0
    }
    const onClose = () => {
      stream.removeEventListener('drain', onDrain)
      drop()
    }
    const onDrain = () => {
      stream.removeEventListener('close', onClose)
      while (q.frames.length > 0 && !stream.writableNeedsDrain) {
        const frame = q.frames.shift()!
        q.bytes -= frame.byteLength
        try {
          if (stream.status !== 'open') throw new Error(`stream ${stream.status}`)
          stream.send(frame)
        } catch (err) {
          drop()
          stream.abort(err as Error) // its close listener forgets it: the next send opens another
          return
        }
      }
      // Frames left: the stream needs a drain again (the loop stops only then).
      if (q.frames.length > 0) this.#drainLater(peerId, stream, q)
      else drop()
    }
    stream.addEventListener('drain', onDrain, { once: true })
    stream.addEventListener('close', onClose, { once: true })
  }

  peers(): string[] {
    return [...this.#access.authenticatedPeers()]
  }

  broadcast(message: Uint8Array, except?: string): void {
    for (const peerId of this.#access.authenticatedPeers())
      if (peerId !== except) this.sendTo(peerId, message)
  }

  onMessage(fn: (peerId: string, message: Uint8Array) => void): () => void {
    this.#listeners.add(fn)
    return () => this.#listeners.delete(fn)
  }

  misbehaved(peerId: string, reason: string): void {
    this.#access.drop(peerId, new MalformedFrameError(`record push: ${reason}`))
  }

  async #read(stream: Stream, peerId: string): Promise<void> {
    // The dialer may open this stream a moment before this side has finished judging its hello.
    try {
      await this.#access.whenAuthenticated(peerId)
    } catch {
      this.#access.drop(peerId, new PeerNotAuthenticatedError('record push without a passed handshake'))
      stream.abort(new Error('not authenticated'))
      return
    }
    try {
      for await (const frame of lp.decode(stream, { maxDataLength: MAX_FRAME_BYTES })) {
        stamp('frame')
        const bytes = frame.subarray()
        for (const l of this.#listeners) l(peerId, bytes)
      }
    } catch (err) {
      const name = (err as Error).name
      if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError') {
        this.#access.drop(peerId, new FrameTooLargeError(`record push frame over ${MAX_FRAME_BYTES} bytes`))
      }
      stream.abort(err as Error)
    }
  }
}
