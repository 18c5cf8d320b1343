// Test and tooling helpers: in-process authenticated libp2p peers on 127.0.0.1 (real TCP, noise, yamux,
// real handshake). Used by this package's tests and available to other parts' tests.
import type { Libp2p } from '@libp2p/interface'
import { type LocalCredentials, PeerAccess, type PeerPrincipal } from './access.ts'
import { startReconnector } from './compose.ts'
import { type Ed25519Signer, generateEd25519Signer } from './ed25519.ts'
import { createLakouHost } from './host.ts'
import type { Reconnector } from './reconnect.ts'
import { StaticPeerAuthenticator } from './static-authenticator.ts'

export interface TestPeer {
  host: Libp2p
  access: PeerAccess
  signer: Ed25519Signer
  principal: PeerPrincipal
  /** Peers this host's connection gater refuses (a cut: add, then close the connections). */
  blocked: Set<string>
  /** With `reconnect: true`: the redialling of certified peers, as in a node. */
  reconnector?: Reconnector
  stop(): Promise<void>
}

export function credentialsFor(signer: Ed25519Signer, certificate = new Uint8Array([0])): LocalCredentials {
  return { certificate, devicePublicKey: signer.publicKey, sign: (m) => signer.sign(m) }
}

export function devicePrincipal(signer: Ed25519Signer, venueId = 'venue-test'): PeerPrincipal {
  return { kind: 'device', devicePublicKey: signer.publicKey, venueId, role: 'cashier' }
}

/** Starts `count` hosts that trust each other's device keys, connects them all pairwise, waits for the handshakes. */
export async function startTestPeers(
  count: number,
  options: { connect?: boolean; reconnect?: boolean } = {},
): Promise<TestPeer[]> {
  const authenticator = new StaticPeerAuthenticator()
  const peers: TestPeer[] = []
  for (let i = 0; i < count; i++) {
    const signer = await generateEd25519Signer()
    const principal = devicePrincipal(signer)
    authenticator.allow(principal)
    const blocked = new Set<string>()
    const host = await createLakouHost({
      listen: ['/ip4/127.0.0.1/tcp/0'],
      mdns: false,
      refusePeer: (peerId) => blocked.has(peerId),
    })
    const access = new PeerAccess({ credentials: credentialsFor(signer), authenticator, log: () => {} })
    await access.start(host)
    const reconnector = options.reconnect ? startReconnector(host, access, blocked, undefined) : undefined
    peers.push({
      host,
      access,
      signer,
      principal,
      blocked,
      ...(reconnector ? { reconnector } : {}),
      stop: async () => {
        reconnector?.stop()
        await access.stop()
        await host.stop()
      },
    })
  }
  if (options.connect ?? true) await connectAll(peers)
  return peers
}

export async function connectAll(peers: TestPeer[]): Promise<void> {
  const waits: Array<Promise<unknown>> = []
  for (let i = 0; i < peers.length; i++) {
    for (let j = i + 1; j < peers.length; j++) {
      const a = peers[i]!
      const b = peers[j]!
      await a.host.dial(b.host.getMultiaddrs())
      waits.push(
        a.access.whenAuthenticated(b.host.peerId.toString()),
        b.access.whenAuthenticated(a.host.peerId.toString()),
      )
    }
  }
  await Promise.all(waits)
}
