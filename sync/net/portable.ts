// The portable (Node and browser) part of the network layer: no node: imports below this file.
export {
  HELLO_PROTOCOL,
  type HelloAttachment,
  type LocalCredentials,
  MAX_HELLO_ATTACHMENT_BYTES,
  PeerAccess,
  type PeerAccessEvents,
  type PeerAccessOptions,
  type PeerAuthenticator,
  type PeerPrincipal,
  type PresentedCredentials,
  peerBindingMessage,
} from './access.ts'
export {
  type BrowserHostOptions,
  type BrowserNetworkOptions,
  createBrowserHost,
  startBrowserNetwork,
} from './browser-host.ts'
export {
  composeLakouNetwork,
  createPeerAccess,
  type LakouNetwork,
  type NetworkComposeOptions,
} from './compose.ts'
export { preferredConnection } from './connections.ts'
export { ECHO_PROTOCOL, type EchoOptions, measureEcho, serveEcho } from './echo.ts'
export { type Ed25519Signer, generateEd25519Signer, verifyEd25519, verifyEd25519Now } from './ed25519.ts'
export {
  type DropError,
  FrameTooLargeError,
  HandshakeRejectedError,
  HandshakeTimeoutError,
  MalformedFrameError,
  PeerFloodError,
  PeerKeyFileError,
  PeerNotAuthenticatedError,
} from './errors.ts'
export { DEFAULT_MAX_FRAME_BYTES } from './frames.ts'
export {
  AUTOMERGE_PROTOCOL,
  Libp2pNetworkAdapter,
  type Libp2pNetworkAdapterOptions,
  type PeerGate,
} from './libp2p-network-adapter.ts'
export { DEFAULT_RATE_LIMIT, PeerBudget, type RateLimit, TokenBucket } from './rate-limit.ts'
export {
  DEFAULT_REDIAL_POLICY,
  Reconnector,
  type RedialPolicy,
  redialDelay,
} from './reconnect.ts'
export { flushReadyDocuments, shutdownRepo } from './repo-flush.ts'
export {
  createShareConfig,
  type DocumentAccess,
  type PrincipalLookup,
  type ShareConfig,
} from './share-policy.ts'
export { StaticPeerAuthenticator } from './static-authenticator.ts'
export {
  connectionPath,
  type PeerPath,
  type PeerStatus,
  type PeerStatusEvents,
  PeerStatusTracker,
} from './status.ts'
