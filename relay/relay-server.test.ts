// Relay reservations are for certified peers only (in-process relay and clients, real libp2p on 127.0.0.1).
import '@automerge/automerge-repo'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateAutomergeUrl } from '@automerge/automerge-repo'
import type { Libp2p } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PeerAccess } from '../sync/net/access.ts'
import { generateEd25519Signer } from '../sync/net/ed25519.ts'
import { createLakouHost } from '../sync/net/host.ts'
import { StaticPeerAuthenticator } from '../sync/net/static-authenticator.ts'
import { credentialsFor, devicePrincipal } from '../sync/net/testing.ts'
import { type RelayServer, startRelay } from './relay-server.ts'

let dir: string
let relay: RelayServer
const authenticator = new StaticPeerAuthenticator()
const hosts: Libp2p[] = []
const reservations = () =>
  (relay.network.host.services as { relay?: { reservations: { size: number } } }).relay!.reservations.size
const circuitAddrs = (h: Libp2p) => h.getMultiaddrs().filter((a) => a.toString().includes('/p2p-circuit'))

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lakou-relay-gate-'))
  const signer = await generateEd25519Signer()
  relay = await startRelay({
    dataDir: dir,
    bindHost: '127.0.0.1',
    credentials: credentialsFor(signer),
    authenticator,
    // Longer than the observation window below, so a denial comes from the gate, not from the hang-up.
    helloTimeoutMs: 5_000,
    log: () => {},
  })
  relayKey = signer.publicKey
  signerB = await generateEd25519Signer()
})
let signerB: Awaited<ReturnType<typeof generateEd25519Signer>>
let relayKey: Uint8Array

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.stop()))
  await relay.stop()
  await rm(dir, { recursive: true, force: true })
})

async function client(): Promise<Libp2p> {
  const h = await createLakouHost({ listen: ['/p2p-circuit'], mdns: false })
  hosts.push(h)
  return h
}

const relayTcp = () => multiaddr(relay.addresses().find((a) => !a.includes('/ws'))!)

describe('relay reservation gate', () => {
  it('gives a certified peer a reservation', async () => {
    const signer = await generateEd25519Signer()
    authenticator.allow(devicePrincipal(signer))
    const h = await client()
    const access = new PeerAccess({
      credentials: credentialsFor(signer),
      authenticator: new StaticPeerAuthenticator([{ kind: 'relay', devicePublicKey: relayKey }]),
      log: () => {},
    })
    await access.start(h)
    await h.dial(relayTcp())
    await expect.poll(() => circuitAddrs(h).length, { timeout: 10_000 }).toBeGreaterThan(0)
    expect(reservations()).toBe(1)
    await access.stop()
  })

  it('refuses a reservation to a peer that has not passed the handshake', async () => {
    const silent = await client() // no handshake at all
    await silent.dial(relayTcp())
    await new Promise((r) => setTimeout(r, 2_000))
    expect(circuitAddrs(silent)).toEqual([])
    expect(reservations()).toBe(1) // only the certified peer's
  })
})

async function freePort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
  const { port } = probe.address() as { port: number }
  await new Promise((r) => probe.close(r))
  return port
}

const listenOn = (port: number) =>
  new Promise<Server>((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(port, '127.0.0.1', () => resolve(s))
  })

describe('relay start, flush and stop', () => {
  it('flushes and stops while a document is still unavailable, and a restart still holds the rest', async () => {
    const data = join(dir, 'restart')
    const start = () =>
      startRelay({
        dataDir: data,
        bindHost: '127.0.0.1',
        credentials: credentialsFor(signerB),
        authenticator,
        log: () => {},
      })
    let r = await start()
    const url = r.repo.create({ kept: 'yes' }).url
    await expect(
      r.repo.find(generateAutomergeUrl(), { signal: AbortSignal.timeout(1_000) }),
    ).rejects.toThrow()
    await expect(r.repo.flush()).rejects.toThrow(/not ready/) // what the relay must not call
    expect(await r.flush()).toBe(1)
    await r.stop()
    r = await start()
    const back = await r.repo.find<{ kept: string }>(url, { signal: AbortSignal.timeout(5_000) })
    expect(back.doc().kept).toBe('yes')
    await r.stop()
  })

  it('releases its ports when it fails to start (here: the HTTP port is taken)', async () => {
    const [tcpPort, httpPort] = [await freePort(), await freePort()]
    const squatter = await listenOn(httpPort)
    await expect(
      startRelay({
        dataDir: join(dir, 'failed-start'),
        bindHost: '127.0.0.1',
        listen: [`/ip4/127.0.0.1/tcp/${tcpPort}`],
        httpPort,
        credentials: credentialsFor(signerB),
        authenticator,
        log: () => {},
      }),
    ).rejects.toThrow(/EADDRINUSE/)
    await new Promise((r) => squatter.close(r))
    // libp2p stopped: its TCP port can be bound again.
    const again = await listenOn(tcpPort)
    await new Promise((r) => again.close(r))
  })
})
