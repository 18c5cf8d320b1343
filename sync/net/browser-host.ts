// The libp2p host of a browser (member portal, app): WebSockets out, circuit relay v2 client, noise, yamux,
// identify, ping. Browsers cannot listen; they dial relays or venue nodes over WebSockets.
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import {
  composeLakouNetwork,
  createPeerAccess,
  type LakouNetwork,
  type NetworkComposeOptions,
} from './compose.ts'

export interface BrowserHostOptions {
  /**
   * libp2p in browsers refuses ws:// and private addresses by default. A venue LAN (and a test on
   * 127.0.0.1) has exactly those: allow them. Keep false for a portal reached over the internet (wss://).
   */
  allowInsecureLocal?: boolean
}

export async function createBrowserHost(options: BrowserHostOptions = {}): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: [] },
    transports: [webSockets(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping() },
    ...(options.allowInsecureLocal ? { connectionGater: { denyDialMultiaddr: () => false } } : {}),
  })
}

export interface BrowserNetworkOptions extends BrowserHostOptions, NetworkComposeOptions {
  /** Relays or venue nodes to dial at start (ws:// or wss:// multiaddrs with /p2p/<id>). */
  dial?: string[]
}

export async function startBrowserNetwork(options: BrowserNetworkOptions): Promise<LakouNetwork> {
  const host = await createBrowserHost(options)
  const network = await composeLakouNetwork(host, createPeerAccess(options), options)
  for (const addr of options.dial ?? []) await host.dial(multiaddr(addr))
  return network
}
