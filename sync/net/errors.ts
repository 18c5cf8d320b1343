// One error class per failure kind, each with a stable `name` (js-libp2p style), so callers and logs can
// tell a rogue peer from a flaky network without parsing messages.

/** A frame's declared length exceeds the maximum frame size. */
export class FrameTooLargeError extends Error {
  static readonly NAME = 'FrameTooLargeError'
  override readonly name = FrameTooLargeError.NAME
}

/** A frame could not be decoded (not CBOR, wrong shape, wrong sender/target). */
export class MalformedFrameError extends Error {
  static readonly NAME = 'MalformedFrameError'
  override readonly name = MalformedFrameError.NAME
}

/** A peer sent more frames than its rate limit allows. */
export class PeerFloodError extends Error {
  static readonly NAME = 'PeerFloodError'
  override readonly name = PeerFloodError.NAME
}

/** The access handshake failed: bad binding signature, refused certificate, timeout, or protocol error. */
export class HandshakeRejectedError extends Error {
  static readonly NAME: string = 'HandshakeRejectedError'
  override readonly name: string = HandshakeRejectedError.NAME
}

/**
 * The handshake did not complete in time: no refusal, no bad certificate. A peer that passed the handshake
 * before is then only slow (a loaded till), and is not refused for the cooldown (access.ts).
 */
export class HandshakeTimeoutError extends HandshakeRejectedError {
  static override readonly NAME: string = 'HandshakeTimeoutError'
  override readonly name = HandshakeTimeoutError.NAME
}

/** A peer tried to use a protected protocol before passing the handshake. */
export class PeerNotAuthenticatedError extends Error {
  static readonly NAME = 'PeerNotAuthenticatedError'
  override readonly name = PeerNotAuthenticatedError.NAME
}

/** A connection's ping got no answer within its deadline (the peer's time): the connection is aborted. */
export class PingTimeoutError extends Error {
  static readonly NAME = 'PingTimeoutError'
  override readonly name = PingTimeoutError.NAME
}

/** A persisted peer key exists but cannot be read or decoded (never silently replaced: it is the identity). */
export class PeerKeyFileError extends Error {
  static readonly NAME = 'PeerKeyFileError'
  override readonly name = PeerKeyFileError.NAME
}

/** Why a peer was dropped, as reported in logs and `peer:dropped` events. */
export type DropError =
  | FrameTooLargeError
  | MalformedFrameError
  | PeerFloodError
  | HandshakeRejectedError
  | PeerNotAuthenticatedError
