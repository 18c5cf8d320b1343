// A raw libp2p stream echo (/lakou/echo/1.0.0): the floor a sync latency is compared against in benchmarks
// (same hosts, same connection, no Automerge, no CBOR). Only authenticated peers are answered.
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
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
    { runOnLimitedConnection: true },
  )
  return () => libp2p.unhandle(ECHO_PROTOCOL)
}

/** Round-trip times in ms of `count` echoes of `size` bytes over one stream to `peerId`. */
export async function measureEcho(
  libp2p: Libp2p,
  peerId: string,
  count: number,
  size = 200,
): Promise<number[]> {
  const stream = await libp2p.dialProtocol(peerIdFromString(peerId), ECHO_PROTOCOL, {
    runOnLimitedConnection: true,
  })
  const writer = new FrameWriter(stream, MAX_ECHO_BYTES)
  const frames = readFrames(stream, MAX_ECHO_BYTES)
  const payload = new Uint8Array(size)
  const times: number[] = []
  try {
    for (let i = 0; i < count; i++) {
      const t0 = performance.now()
      await writer.write(payload)
      const answer = await frames.next()
      if (answer.done) throw new Error('echo stream closed')
      times.push(performance.now() - t0)
    }
  } finally {
    await stream.close().catch(() => {})
  }
  return times
}
