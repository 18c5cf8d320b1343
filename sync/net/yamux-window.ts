// js yamux (@libp2p/yamux 8) answers every data frame it receives with a window-update frame: its
// sendWindowUpdate() sends one as soon as any of the receive window is used. Each of those is a frame of
// its own (noise encryption, a socket write on one side, a decrypt and a decode on the other), so a link
// carrying small record frames moved two frames per record. Go's and Hashicorp's yamux send the update
// only once less than half the window is left; this does the same, by wrapping the stream class's method
// (the muxer builds its streams itself, so there is no option or subclass to pass in).
// The peer still has at least half a window (128 KiB at first) of credit when an update is skipped, so
// it never stalls: a bulk transfer gets an update every half window instead of every frame.
import { StreamState, YamuxStream } from '@libp2p/yamux/stream'

/** The fields of a yamux stream the wrapper reads (private in the typings, plain properties at run time). */
interface WindowFields {
  state: StreamState
  recvWindow: number
  recvWindowCapacity: number
  sendWindowUpdate(): void
}

const PATCHED = Symbol.for('lakou.yamux.halfWindowUpdates')

/** Makes yamux streams send window updates only below half a window. Idempotent; applies process-wide. */
export function halfWindowUpdates(): void {
  const proto = YamuxStream.prototype as unknown as WindowFields & { [PATCHED]?: true }
  if (proto[PATCHED]) return
  const original = proto.sendWindowUpdate
  if (typeof original !== 'function') return // another yamux: leave it as it is
  proto.sendWindowUpdate = function (this: WindowFields) {
    // Init and SYNReceived carry a SYN/ACK flag on the update (the stream's opening): always sent.
    // Paused: the original only restarts its clock.
    const opening = this.state === StreamState.Init || this.state === StreamState.SYNReceived
    if (!opening && this.state !== StreamState.Paused && this.recvWindowCapacity * 2 >= this.recvWindow)
      return
    original.call(this)
  }
  proto[PATCHED] = true
}
