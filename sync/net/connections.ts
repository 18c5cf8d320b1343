// Which of a peer's connections carries its streams. Two peers that dialled each other at once, or that
// meet both directly and through a relay, hold several connections: every Lakou stream to a peer (sync, and
// the echo that measures the floor under it) picks the same one, so they share one socket and one path.
import type { Connection, Libp2p } from '@libp2p/interface'

/** The peer's open connection, direct (unlimited) before relayed (limited), else libp2p's order. */
export function preferredConnection(
  libp2p: Pick<Libp2p, 'getConnections'>,
  peerId: string,
): Connection | undefined {
  return libp2p
    .getConnections()
    .filter((c) => c.remotePeer.toString() === peerId && c.status === 'open')
    .sort((a, b) => Number(a.limits != null) - Number(b.limits != null))[0]
}
