// The libp2p host of a Lakou node or relay (Node only: it persists the peer key on disk).
// TCP and WebSockets, noise, yamux, identify, ping; mDNS on the venue LAN (optional); bootstrap to the
// configured relays and a circuit relay v2 client so a device behind NAT is reachable through them; a
// circuit relay v2 server when the host is a relay.
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { bootstrap } from '@libp2p/bootstrap'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { mdns } from '@libp2p/mdns'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import WebSocket from 'ws'
import { PeerKeyFileError } from './errors.ts'
import { quietLengthPrefixDecoders } from './length-prefix-decoder.ts'
import { watchLiveness } from './liveness.ts'
import { halfWindowUpdates } from './yamux-window.ts'

export const PEER_KEY_FILE = 'peer.key'

export interface LakouHostOptions {
  /** Where the peer key lives (`<dataDir>/peer.key`, mode 0600). Omit for an ephemeral identity. */
  dataDir?: string
  /** Multiaddrs to listen on; default TCP and WebSockets on every interface, OS-chosen ports. */
  listen?: string[]
  /** Addresses to announce instead of the listen addresses (public address of a relay). */
  announce?: string[]
  /** mDNS discovery on the LAN (default true). Off in tests and on relays. */
  mdns?: boolean
  /** Relay multiaddrs (with /p2p/<id>): dialled at start and used for circuit reservations. */
  relays?: string[]
  /** Run a circuit relay v2 server (the `lakou relay` role). */
  relayServer?: boolean
  /** Relayed connections carry sync traffic, so a Lakou relay does not cap them by default. */
  relayUnlimited?: boolean
  /**
   * With `relayServer`: reserve and relay only for peers that pass the access handshake (waits for it).
   * Without it anyone who connects may use the relay's bandwidth until the handshake timeout drops them.
   */
  relayGate?: { whenAuthenticated(peerId: string): Promise<unknown> }
  /**
   * Peers refused at the transport: no dial to them, no inbound connection from them kept past encryption
   * (a network cut in tests and benches, `LakouNetwork.blockPeer`). Read at every dial and connection.
   */
  refusePeer?: (peerId: string) => boolean
  /** How often every connection is pinged (libp2p's connection monitor; default 10 s). For tests. */
  pingIntervalMs?: number
}

/**
 * Pings in flight at once per connection, each way. libp2p's connection monitor pings every connection every
 * 10 s and waits up to 30-60 s (below); the ping service allows one outbound stream (two inbound) by default,
 * so on a loaded till a ping slower than 10 s made the next heartbeat's stream fail ("Too many outbound
 * protocol streams") and the monitor aborted a healthy connection. At 50 festival tills on two cores that
 * was most of the ~1,600 links re-opened in a run, each re-open a new hello and a re-sync of every document.
 */
export const PINGS_IN_FLIGHT = 8

/**
 * Inbound connections accepted per second from one IP address, and upgrades (noise, yamux) in progress at
 * once. libp2p's defaults (5 per second, 10 pending) suit a public DHT node, not a venue: devices behind one
 * NAT reach a relay from one address, every device of a test or bench runs on 127.0.0.1, and after a network
 * cut every till redials at the same moment. Beyond 5 a second the connection was reset before noise (a
 * 50-till festival's dials and heals failed with ECONNRESET and waited for a retry). Access is still the
 * handshake's job (sync/net/access.ts), floods the rate limiter's.
 */
export const INBOUND_CONNECTIONS_PER_SECOND_PER_IP = 100
export const INBOUND_UPGRADES_PENDING = 64

/** Loads the peer key from the data dir, creating it (mode 0600) on first start. */
export async function loadOrCreatePeerKey(dataDir: string): Promise<PrivateKey> {
  const file = join(dataDir, PEER_KEY_FILE)
  let bytes: Uint8Array | undefined
  try {
    bytes = await readFile(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new PeerKeyFileError(`cannot read ${file}: ${err}`)
  }
  if (bytes) {
    try {
      return privateKeyFromProtobuf(bytes)
    } catch (err) {
      throw new PeerKeyFileError(`${file} is not a libp2p private key: ${err}`)
    }
  }
  const key = await generateKeyPair('Ed25519')
  await mkdir(dataDir, { recursive: true })
  const tmp = `${file}.tmp`
  await writeFile(tmp, privateKeyToProtobuf(key), { mode: 0o600 })
  await chmod(tmp, 0o600)
  await rename(tmp, file)
  return key
}

/** Node has no global WebSocket before 22; libp2p's websockets transport dials through it. */
function ensureGlobalWebSocket(): void {
  const g = globalThis as { WebSocket?: unknown }
  if (typeof g.WebSocket !== 'function') g.WebSocket = WebSocket
}

/** Creates and starts a libp2p host. Stop it with `host.stop()`. */
export async function createLakouHost(options: LakouHostOptions = {}): Promise<Libp2p> {
  ensureGlobalWebSocket()
  // One yamux window update per half window, not per data frame (yamux-window.ts).
  halfWindowUpdates()
  // No RangeError thrown and caught per chunk read through noise (length-prefix-decoder.ts).
  quietLengthPrefixDecoders()
  const privateKey = options.dataDir ? await loadOrCreatePeerKey(options.dataDir) : undefined
  const relays = options.relays ?? []
  const listen = [...(options.listen ?? ['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/tcp/0/ws'])]
  if (relays.length > 0 && !options.relayServer) listen.push('/p2p-circuit')
  const peerDiscovery: NonNullable<Libp2pOptions['peerDiscovery']> = []
  if (options.mdns ?? true) peerDiscovery.push(mdns())
  if (relays.length > 0) peerDiscovery.push(bootstrap({ list: relays, timeout: 100 }))

  const services: Record<string, unknown> = {
    identify: identify(),
    ping: ping({ maxInboundStreams: PINGS_IN_FLIGHT, maxOutboundStreams: PINGS_IN_FLIGHT }),
  }
  if (options.relayServer) {
    services.relay = circuitRelayServer({
      reservations: { maxReservations: 1024, applyDefaultLimit: !(options.relayUnlimited ?? true) },
    })
  }

  const gate = options.relayServer ? options.relayGate : undefined
  const passed = (peer: { toString(): string }) =>
    gate
      ? gate.whenAuthenticated(peer.toString()).then(
          () => true,
          () => false,
        )
      : Promise.resolve(true)
  const relayGater: Libp2pOptions['connectionGater'] = gate
    ? {
        denyInboundRelayReservation: async (peer) => !(await passed(peer)),
        denyOutboundRelayedConnection: async (source, destination) =>
          !((await passed(source)) && (await passed(destination))),
      }
    : {}
  const refuse = options.refusePeer
  const connectionGater: Libp2pOptions['connectionGater'] = refuse
    ? {
        ...relayGater,
        denyDialPeer: async (peer) => refuse(peer.toString()),
        denyInboundEncryptedConnection: async (peer) => refuse(peer.toString()),
        denyOutboundEncryptedConnection: async (peer) => refuse(peer.toString()),
      }
    : relayGater

  const host = await createLibp2p({
    connectionGater,
    ...(privateKey ? { privateKey } : {}),
    addresses: { listen, ...(options.announce ? { announce: options.announce } : {}) },
    transports: [tcp(), webSockets(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery,
    services: services as Libp2pOptions['services'],
    // Certified peers are tagged keep-alive (access.ts): when their connection drops, libp2p redials them
    // (1 s, then doubling, 8 tries) instead of leaving two tills apart.
    connectionManager: {
      maxConnections: 300,
      inboundConnectionThreshold: INBOUND_CONNECTIONS_PER_SECOND_PER_IP,
      maxIncomingPendingConnections: INBOUND_UPGRADES_PENDING,
      // A noise handshake half done on a loaded till (two cores, 50 tills) is not thrown away at 10 s only to
      // be started again from scratch by the redial: give the dial 20 s. The inbound upgrade's timeout is
      // wall time and fired first thing after this till's loop had been stuck (10-14 s stalls at a festival
      // heal), the dialer's next noise message unread ("Encryption failed" on its side): 60 s, a backstop;
      // the dialer's own deadline (the reconnector's: the peer's time) decides.
      inboundUpgradeTimeout: 60_000,
      dialTimeout: 20_000,
      // libp2p gives each address of a dial 6 s of wall time whatever the dial's own deadline: two starved
      // tills' noise handshake outlasted it after festival heals, dial after dial, and the pair started over.
      // A caller's signal (the reconnector's, on the peer's time) or dialTimeout decides.
      addressDialTimeout: 60_000,
      // The same for a stream's protocol negotiation (10 s by default): the hello stream's negotiation timed
      // out at 50 tills on two cores (load ~86), and the link waited for the next redial.
      inboundStreamProtocolNegotiationTimeout: 30_000,
      outboundStreamProtocolNegotiationTimeout: 30_000,
      reconnectRetries: 8,
      reconnectRetryInterval: 1000,
      reconnectBackoffFactor: 2,
    },
    // A ping answered late by a busy till is not a dead peer. libp2p's connection monitor aborts a
    // connection at one ping that outlasts its wall-clock timeout (adaptive: down to a few hundred ms; 30-60 s
    // here since session 5), and fired first thing after a till's loop had been stuck, the answer unread in
    // the socket. Connections are pinged by watchLiveness instead (liveness.ts: 30 s of the peer's time).
    connectionMonitor: { enabled: false },
  })
  const stopLiveness = watchLiveness(host, {
    ...(options.pingIntervalMs ? { intervalMs: options.pingIntervalMs } : {}),
  })
  host.addEventListener('stop', stopLiveness, { once: true })
  // libp2p does not dial discovered peers by itself: venue devices found on the LAN are dialled here.
  host.addEventListener('peer:discovery', (event) => {
    const id = event.detail.id
    if (host.getConnections(id).length === 0) void host.dial(id).catch(() => {})
  })
  tallyConnectionCloses(host)
  return host
}

const closeReasons = new WeakMap<Libp2p, Map<string, number>>()

/**
 * Why this host's connections closed, counted by reason: "local|remote <error name>: <message>" (peer ids
 * and numbers stripped), "local|remote closed" for a clean close (local|remote: libp2p's `local` flag of the
 * close event). A diagnostic for links that churn on a
 * loaded node (the festival's tills report it); empty for a host not made by `createLakouHost`.
 */
export function connectionCloseReasons(host: Libp2p): ReadonlyMap<string, number> {
  return closeReasons.get(host) ?? new Map()
}

function tallyConnectionCloses(host: Libp2p): void {
  const tally = new Map<string, number>()
  closeReasons.set(host, tally)
  host.addEventListener('connection:open', (event) => {
    event.detail.addEventListener(
      'close',
      (closed) => {
        const side = closed.local ? 'local' : 'remote'
        const err = closed.error
        const reason = err
          ? `${side} ${err.name}: ${String(err.message)
              .replace(/12D3Koo\w+|Qm\w{44}/g, 'PEER')
              .replace(/\d+/g, 'N')
              .slice(0, 100)}`
          : `${side} closed`
        tally.set(reason, (tally.get(reason) ?? 0) + 1)
      },
      { once: true },
    )
  })
}
