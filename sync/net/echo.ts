// A raw libp2p stream echo (/lakou/echo/1.0.0): the floor a sync latency is compared against in benchmarks
// (same hosts, same connection, no Automerge, no CBOR). Only authenticated peers are answered.
//
// For the floor to be fair the echo stream is set up like the sync stream: the same connection
// (preferredConnection: open, direct before relayed), opened with newStream on it (dialProtocol would dial
// anew when only a relayed connection exists), allowed on limited connections, the same length-prefixed
// framing (one write per frame). Nagle cannot differ: streams are yamux channels over one socket, and
// @libp2p/tcp sets TCP_NODELAY on dialled and accepted sockets alike (checked with strace). The first round
// trip pays the stream's protocol negotiation, which a long-lived sync stream paid long before: it is a
// warm-up, not a sample. `gapMs` spaces round trips like the measured traffic (1 tx/s leaves the loops idle).
import type { Libp2p } from '@libp2p/interface'
import { preferredConnection } from './connections.ts'
import { FrameWriter, readFrames } from './frames.ts'
import type { PeerGate } from './libp2p-network-adapter.ts'

export const ECHO_PROTOCOL = '/lakou/echo/1.0.0'
const MAX_ECHO_BYTES = 64 * 1024

/** Answers every frame with the same bytes. Returns the stop function. */
export async function serveEcho(
  libp2p: Libp2p,
  gate: Pick<PeerGate, 'isAuthenticated'>,
): Promise<() => Promise<void>> {
  await libp2p.handle(
    ECHO_PROTOCOL,
    async (stream, connection) => {
      if (!gate.isAuthenticated(connection.remotePeer.toString())) {
        stream.abort(new Error('not authenticated'))
        return
      }
      const writer = new FrameWriter(stream, MAX_ECHO_BYTES)
      try {
        for await (const frame of readFrames(stream, MAX_ECHO_BYTES)) await writer.write(frame)
      } catch {
        // The measuring side closed or reset the stream: nothing to answer.
      }
    },
    { runOnLimitedConnection: true, maxInboundStreams: 4 },
  )
  return () => libp2p.unhandle(ECHO_PROTOCOL)
}

export interface EchoOptions {
  /** Round trips before the measured ones (default 1: the stream's protocol negotiation). */
  warmup?: number
  /** Pause between round trips, ms (default 0). */
  gapMs?: number
}

/** Round-trip times in ms of `count` echoes of `size` bytes over one stream on the peer's sync connection. */
export async function measureEcho(
  libp2p: Libp2p,
  peerId: string,
  count: number,
  size = 200,
  options: EchoOptions = {},
): Promise<number[]> {
  const connection = preferredConnection(libp2p, peerId)
  if (!connection) throw new Error(`no open connection to ${peerId}: the echo floor is measured on it`)
  const stream = await connection.newStream(ECHO_PROTOCOL, { runOnLimitedConnection: true })
  const writer = new FrameWriter(stream, MAX_ECHO_BYTES)
  const frames = readFrames(stream, MAX_ECHO_BYTES)
  const payload = new Uint8Array(size)
  const warmup = options.warmup ?? 1
  const times: number[] = []
  try {
    for (let i = 0; i < warmup + count; i++) {
      if (i > 0 && options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs))
      const t0 = performance.now()
      await writer.write(payload)
      const answer = await frames.next()
      if (answer.done) throw new Error('echo stream closed')
      if (i >= warmup) times.push(performance.now() - t0)
    }
  } finally {
    await stream.close().catch(() => {})
  }
  return times
}
