// The network half of sync for Node (node and relay). Browsers import ./portable.ts instead.
export { createLakouHost, type LakouHostOptions, loadOrCreatePeerKey, PEER_KEY_FILE } from './host.ts'
export { type LakouNetworkOptions, startLakouNetwork } from './network.ts'
export * from './portable.ts'
