// sync/node public surface (Node only): the venue node, setup, and what the relay and app build on.
export { ChainSink, type LedgerIngest } from './chain-sink.ts'
export { dataPaths, type NodeConfig, readNodeConfig, writeNodeConfig } from './config.ts'
export { CertificateAuthenticator, encodeCredentialBundle, localCredentials } from './credentials.ts'
export { KeyFileError, NodeConfigError, NodeNotReadyError } from './errors.ts'
export { loadKey, writeFileDurably } from './files.ts'
export { Libp2pPushTransport, PUSH_PROTOCOL } from './push-protocol.ts'
export {
  admitVenue,
  createFederation,
  type EnrollOptions,
  enrollDevice,
  type FederationSetup,
  type VenueSetup,
} from './setup.ts'
export {
  VenueConfigFeed,
  type VenueConfigFeedEvents,
  type VenueConfigFeedOptions,
} from './venue-config-feed.ts'
export {
  type AppendResult,
  createVenueNode,
  documentAccess,
  type VenueNode,
  type VenueNodeEvents,
  type VenueNodeOptions,
} from './venue-node.ts'
