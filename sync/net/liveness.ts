// Is a connection still alive? Each open connection is pinged (/ipfs/ping/1.0.0, 32 bytes echoed) every
// `intervalMs`, one ping in flight per connection, and aborted when a ping gets no answer within `timeoutMs`
// of the peer's time (access.ts deadline(): time this process's own loop could not run is not charged).
//
// It replaces libp2p's connection monitor, whose ping timeout is wall time: on a till whose loop was stuck
// for 30 s (a heal's bulk work, 50 tills on two cores) the timeout fired first thing after the stall, while
// the answer sat unread in the socket, and aborted a healthy connection, often one just made after a heal
// (122 connections of one 50 x 200k festival closed so). A peer that is gone (Wi-Fi off, a half-open TCP
// connection) still stops answering, and its connection is aborted after `timeoutMs` of its time.
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import { type DeadlineClock, peerTimeSignal } from './access.ts'
import { PingTimeoutError } from './errors.ts'

export const PING_PROTOCOL = '/ipfs/ping/1.0.0'
const PING_BYTES = 32

export interface LivenessOptions {
  /** How often each connection is pinged (default 10 s, as libp2p's monitor). */
  intervalMs?: number
  /** How long a ping may take, of the peer's time (default 30 s). */
  timeoutMs?: number
  clock?: DeadlineClock
}

/** Starts pinging `host`'s connections; returns the function that stops it. */
export function watchLiveness(host: Libp2p, options: LivenessOptions = {}): () => void {
  const intervalMs = options.intervalMs ?? 10_000
  const timeoutMs = options.timeoutMs ?? 30_000
  const inFlight = new WeakSet<Connection>()
  const timer = setInterval(() => {
    for (const connection of host.getConnections()) {
      if (connection.status !== 'open' || inFlight.has(connection)) continue
      inFlight.add(connection)
      void ping(connection, timeoutMs, options.clock)
        .catch((err: Error) => {
          // A ping the peer cannot answer (older peer) says nothing; a connection closing meanwhile neither.
          if (err?.name === 'UnsupportedProtocolError' || connection.status !== 'open') return
          connection.abort(err)
        })
        .finally(() => inFlight.delete(connection))
    }
  }, intervalMs)
  timer.unref?.()
  return () => clearInterval(timer)
}

/** One ping on `connection`: resolves with the round trip (ms), rejects with PingTimeoutError or the failure. */
export async function ping(
  connection: Connection,
  timeoutMs: number,
  clock?: DeadlineClock,
): Promise<number> {
  const { signal, cancel } = peerTimeSignal(timeoutMs, 'ping', clock)
  const timedOut = () => new PingTimeoutError(`no ping answer within ${timeoutMs} ms of the peer's time`)
  let stream: Stream | undefined
  try {
    stream = await connection.newStream(PING_PROTOCOL, { signal, runOnLimitedConnection: true })
    const sent = crypto.getRandomValues(new Uint8Array(PING_BYTES))
    const start = performance.now()
    const onAbort = () => stream?.abort(timedOut())
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      stream.send(sent)
      const echoed = new Uint8Array(PING_BYTES)
      let got = 0
      for await (const chunk of stream) {
        const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
        echoed.set(bytes.subarray(0, PING_BYTES - got), got)
        got += Math.min(bytes.byteLength, PING_BYTES - got)
        if (got === PING_BYTES) break
      }
      if (signal.aborted) throw timedOut()
      if (got < PING_BYTES || echoed.some((b, i) => b !== sent[i])) throw new Error('wrong ping answer')
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
    await stream.close().catch(() => {})
    return performance.now() - start
  } catch (err) {
    stream?.abort(err as Error)
    throw signal.aborted ? timedOut() : err
  } finally {
    cancel()
  }
}
