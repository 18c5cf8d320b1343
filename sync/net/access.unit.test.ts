// The hello handshake between in-process libp2p hosts on 127.0.0.1 (real TCP, noise, yamux).
import type { Libp2p } from '@libp2p/interface'
import * as lp from 'it-length-prefixed'
import { describe, expect, it } from 'vitest'
import {
  HELLO_PROTOCOL,
  type LocalCredentials,
  PeerAccess,
  type PeerPrincipal,
  peerBindingMessage,
} from './access.ts'
import { generateEd25519Signer } from './ed25519.ts'
import { StaticPeerAuthenticator } from './static-authenticator.ts'
import { testHosts } from './test-hosts.ts'
import { credentialsFor, devicePrincipal } from './testing.ts'

const { cleanup, host } = testHosts()

async function guarded(
  credentials: LocalCredentials,
  trusted: PeerPrincipal[],
  options: { helloTimeoutMs?: number } = {},
): Promise<{ host: Libp2p; access: PeerAccess; log: string[] }> {
  const h = await host()
  const log: string[] = []
  const access = new PeerAccess({
    credentials,
    authenticator: new StaticPeerAuthenticator(trusted),
    log: (l) => log.push(l),
    ...options,
  })
  await access.start(h)
  cleanup.push(() => access.stop())
  return { host: h, access, log }
}

function nextEvent<T>(access: PeerAccess, type: 'peer:rejected' | 'peer:dropped'): Promise<T> {
  return new Promise((resolve) => {
    const off = access.on(type, (d) => {
      off()
      resolve(d as T)
    })
  })
}

describe('PeerAccess handshake', () => {
  it('authenticates two certified peers both ways with their principals', async () => {
    const [sa, sb] = [await generateEd25519Signer(), await generateEd25519Signer()]
    const pa = devicePrincipal(sa, 'venue-a')
    const pb = devicePrincipal(sb, 'venue-b')
    const a = await guarded(credentialsFor(sa), [pb])
    const b = await guarded(credentialsFor(sb), [pa])
    await a.host.dial(b.host.getMultiaddrs())
    const [fromA, fromB] = await Promise.all([
      a.access.whenAuthenticated(b.host.peerId.toString()),
      b.access.whenAuthenticated(a.host.peerId.toString()),
    ])
    expect(fromA.venueId).toBe('venue-b')
    expect(fromB.venueId).toBe('venue-a')
    expect(a.access.authenticatedPeers()).toEqual([b.host.peerId.toString()])
  })

  it('refuses a certificate replayed from another peer id, even with the victim binding signature', async () => {
    const victim = await generateEd25519Signer()
    const server = await guarded(credentialsFor(await generateEd25519Signer()), [devicePrincipal(victim)])
    // The thief copied the victim's certificate and a binding signature the victim made for its own peer id.
    const victimPeerId = (await host()).peerId.toString()
    const stolen = await victim.sign(peerBindingMessage(victimPeerId))
    const thiefCredentials: LocalCredentials = {
      certificate: new Uint8Array([0]),
      devicePublicKey: victim.publicKey,
      sign: async () => stolen,
    }
    const thief = await guarded(thiefCredentials, [])
    const rejected = nextEvent<{ error: Error }>(server.access, 'peer:rejected')
    await thief.host.dial(server.host.getMultiaddrs())
    const { error } = await rejected
    expect(error.name).toBe('HandshakeRejectedError')
    expect(error.message).toMatch(/did not sign this peer id/)
    expect(server.access.isAuthenticated(thief.host.peerId.toString())).toBe(false)
    expect(server.log.join('\n')).toMatch(/dropped peer .*HandshakeRejectedError/)
  })

  it('hangs up on a peer that never says hello, and refuses it during the cooldown', async () => {
    const server = await guarded(credentialsFor(await generateEd25519Signer()), [], { helloTimeoutMs: 3_000 })
    const silent = await host() // no PeerAccess: it connects and says nothing
    const dropped = nextEvent<{ error: Error }>(server.access, 'peer:dropped')
    await silent.dial(server.host.getMultiaddrs())
    expect((await dropped).error.message).toMatch(/timeout/)
    await expect.poll(() => silent.getConnections().length, { timeout: 5_000 }).toBe(0)
    // Redialling during the cooldown gets the connection closed at once, not by a second hello timeout: that
    // one would drop the peer again, with an event. (No wall-clock bound: a loaded machine may take seconds.)
    const droppedAgain: string[] = []
    cleanup.push(server.access.on('peer:dropped', ({ error }) => droppedAgain.push(error.message)))
    await silent.dial(server.host.getMultiaddrs()).catch(() => {})
    await expect.poll(() => silent.getConnections().length, { timeout: 20_000 }).toBe(0)
    expect(droppedAgain).toEqual([])
  })

  it('rejects a malformed hello with a typed error', async () => {
    const server = await guarded(credentialsFor(await generateEd25519Signer()), [])
    const rogue = await host()
    const rejected = nextEvent<{ error: Error }>(server.access, 'peer:rejected')
    // Callers already waiting on that peer's handshake all get its refusal.
    const waits = [1, 2, 3].map(() =>
      server.access.whenAuthenticated(rogue.peerId.toString(), 60_000).then(
        () => 'passed',
        (e: Error) => e.name,
      ),
    )
    const stream = await rogue.dialProtocol(server.host.getMultiaddrs(), HELLO_PROTOCOL)
    stream.send(lp.encode.single(new Uint8Array([0xa1, 0x61, 0x76, 0x02]))) // CBOR {v: 2}
    expect((await rejected).error.name).toBe('MalformedFrameError')
    expect(await Promise.all(waits)).toEqual([
      'MalformedFrameError',
      'MalformedFrameError',
      'MalformedFrameError',
    ])
  })

  it('signs its own hello once per host, not once per handshake', async () => {
    const [sa, sb, sc] = [
      await generateEd25519Signer(),
      await generateEd25519Signer(),
      await generateEd25519Signer(),
    ]
    let signatures = 0
    const counting: LocalCredentials = {
      ...credentialsFor(sa),
      sign: (m) => {
        signatures++
        return sa.sign(m)
      },
    }
    const a = await guarded(counting, [devicePrincipal(sb), devicePrincipal(sc)])
    const b = await guarded(credentialsFor(sb), [devicePrincipal(sa)])
    const c = await guarded(credentialsFor(sc), [devicePrincipal(sa)])
    await a.host.dial(b.host.getMultiaddrs()) // a says hello first
    await c.host.dial(a.host.getMultiaddrs()) // a answers
    await Promise.all([
      a.access.whenAuthenticated(b.host.peerId.toString()),
      a.access.whenAuthenticated(c.host.peerId.toString()),
      b.access.whenAuthenticated(a.host.peerId.toString()),
      c.access.whenAuthenticated(a.host.peerId.toString()),
    ])
    expect(signatures).toBe(1)
  })

  it('many callers waiting on one peer share one wait: no listener each (MaxListeners), all get the principal', async () => {
    const warnings: string[] = []
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`)
    process.on('warning', onWarning)
    cleanup.push(() => process.off('warning', onWarning))
    const [sa, sb] = [await generateEd25519Signer(), await generateEd25519Signer()]
    const a = await guarded(credentialsFor(sa), [devicePrincipal(sb, 'venue-b')])
    const b = await guarded(credentialsFor(sb), [devicePrincipal(sa, 'venue-a')])
    // As push, page and sync streams of one peer each wait on its handshake (11 seen at once in a festival).
    const waits = Array.from({ length: 30 }, () =>
      a.access.whenAuthenticated(b.host.peerId.toString(), 60_000),
    )
    await a.host.dial(b.host.getMultiaddrs())
    const principals = await Promise.all(waits)
    expect(new Set(principals.map((p) => p.venueId))).toEqual(new Set(['venue-b']))
    await new Promise((r) => setImmediate(r))
    expect(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'))).toEqual([])
  })
})
