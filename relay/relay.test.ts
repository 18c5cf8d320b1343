// The relay in its own OS process, tills in their own processes, real libp2p on 127.0.0.1.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateAutomergeUrl } from '@automerge/automerge-repo/slim'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'

// Separate processes on two shared cores: generous per-test budget (each step has its own shorter timeout).
vi.setConfig({ testTimeout: 90_000, hookTimeout: 90_000 })

import { type ChildPeer, spawnChild } from '../sync/net/fixtures/child.ts'

const RELAY = 'relay/fixtures/relay-process.ts'
const PEER = 'sync/net/fixtures/scripted-peer.ts'
const children = new Set<ChildPeer>()
let root: string

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lakou-relay-test-'))
})

afterAll(async () => {
  for (const c of children) c.kill()
  await rm(root, { recursive: true, force: true })
})

async function start(script: string, options: Record<string, unknown>): Promise<ChildPeer> {
  const child = await spawnChild(script, options)
  children.add(child)
  return child
}

async function stop(child: ChildPeer): Promise<void> {
  await child.stop()
  children.delete(child)
}

const tcpAddr = (c: ChildPeer) => c.ready.addrs.find((a) => !a.includes('/ws') && !a.includes('p2p-circuit'))!

/** A till that trusts the relay, is trusted by it, and is connected to it. */
async function tillOnline(relay: ChildPeer, data: string): Promise<ChildPeer> {
  const till = await start(PEER, { data })
  await relay.request('trust', { key: till.ready.publicKey })
  await till.request('trust', { key: relay.ready.publicKey, kind: 'relay' })
  await till.request('dial', { addr: tcpAddr(relay) })
  return till
}

async function relayHolds(relay: ChildPeer, url: string, key: string, value: unknown): Promise<void> {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    const got = await relay.request('read', { url, timeoutMs: 1_000 })
    if ((got.doc as Record<string, unknown> | undefined)?.[key] === value) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`relay never held ${key}=${String(value)}`)
}

describe('lakou relay (separate OS processes)', () => {
  it('lets two tills that are never online together converge, and loses nothing across restarts', async () => {
    const relayDir = join(root, 'relay')
    let relay = await start(RELAY, { data: relayDir })

    // Till A writes while B is offline, then leaves.
    let a = await tillOnline(relay, join(root, 'a'))
    const url = String((await a.request('create', { doc: { fromA: 'a1' } })).url)
    await relayHolds(relay, url, 'fromA', 'a1')
    await stop(a)

    // The relay restarts cleanly (SIGTERM-like: stdin closed, repo flushed) while it still looks for a
    // document nobody has: repo.flush()/shutdown() would throw "DocHandle is not ready" on that one.
    const missing = await relay.request('read', { url: generateAutomergeUrl(), timeoutMs: 500 })
    expect(missing.unavailable).toBe(true)
    const relayPeerId = relay.ready.peerId
    await stop(relay)
    relay = await start(RELAY, { data: relayDir })
    expect(relay.ready.peerId).toBe(relayPeerId) // same libp2p identity from <data>/peer.key

    // Till B comes online for the first time and gets A's write from the relay alone, then writes and leaves.
    const b = await tillOnline(relay, join(root, 'b'))
    const got = await b.request('wait', { url, key: 'fromA', value: 'a1', timeoutMs: 15_000 })
    expect(got.doc).toMatchObject({ fromA: 'a1' })
    await b.request('change', { url, key: 'fromB', value: 'b1' })
    await relayHolds(relay, url, 'fromB', 'b1')
    await stop(b)

    // The relay is killed hard after it has flushed (with a document still unavailable), and restarted.
    await relay.request('read', { url: generateAutomergeUrl(), timeoutMs: 500 })
    expect((await relay.request('flush')).flushed).toBeGreaterThanOrEqual(1)
    relay.kill()
    await new Promise((r) => relay.process.once('exit', r))
    children.delete(relay)
    relay = await start(RELAY, { data: relayDir })

    // A comes back (same data dir) and converges on B's write, which it never saw directly.
    a = await tillOnline(relay, join(root, 'a'))
    const back = await a.request('wait', { url, key: 'fromB', value: 'b1', timeoutMs: 15_000 })
    expect(back.doc).toMatchObject({ fromA: 'a1', fromB: 'b1' })
    await stop(a)
    await stop(relay)
  })

  it('lets several relays serve one federation: tills on different relays converge', async () => {
    const [r1, r2] = await Promise.all([
      start(RELAY, { data: join(root, 'multi-r1') }),
      start(RELAY, { data: join(root, 'multi-r2') }),
    ])
    await r1.request('trust', { key: r2.ready.publicKey, kind: 'relay' })
    await r2.request('trust', { key: r1.ready.publicKey, kind: 'relay' })
    await r2.request('dial', { addr: tcpAddr(r1) })
    const a = await tillOnline(r1, join(root, 'multi-a'))
    const b = await tillOnline(r2, join(root, 'multi-b'))
    const url = String((await a.request('create', { doc: { from: 'a-via-r1' } })).url)
    const got = await b.request('wait', { url, key: 'from', value: 'a-via-r1', timeoutMs: 20_000 })
    expect(got.doc).toMatchObject({ from: 'a-via-r1' })
    await b.request('change', { url, key: 'reply', value: 'b-via-r2' })
    const back = await a.request('wait', { url, key: 'reply', value: 'b-via-r2', timeoutMs: 20_000 })
    expect(back.doc).toMatchObject({ from: 'a-via-r1', reply: 'b-via-r2' })
    // Neither till ever connected to the other, nor to the other's relay.
    expect(((await a.request('peers')) as { peers: string[] }).peers).toEqual([r1.ready.peerId])
    expect(((await b.request('peers')) as { peers: string[] }).peers).toEqual([r2.ready.peerId])
    await Promise.all([stop(a), stop(b), stop(r1), stop(r2)])
  })

  it('serves /healthz and /metrics', async () => {
    const relay = await start(RELAY, { data: join(root, 'relay-http') })
    const till = await tillOnline(relay, join(root, 'c'))
    await till.request('create', { doc: { x: 1 } })
    const base = `http://127.0.0.1:${relay.ready.httpPort}`
    // The till's handshake and first sync frames land a moment after its dial returns.
    await expect
      .poll(
        async () =>
          ((await (await fetch(`${base}/healthz`)).json()) as Record<string, unknown>).authenticatedPeers,
        {
          timeout: 15_000,
        },
      )
      .toBe(1)
    const health = await fetch(`${base}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toMatchObject({ ok: true, peerId: relay.ready.peerId, authenticatedPeers: 1 })

    await expect
      .poll(
        async () =>
          (await (await fetch(`${base}/metrics`)).text()).match(
            /^lakou_relay_sync_frames_received_total (\d+)$/m,
          )?.[1],
        {
          timeout: 15_000,
        },
      )
      .toMatch(/^[1-9]\d*$/)
    const metrics = await (await fetch(`${base}/metrics`)).text()
    expect(metrics).toMatch(/^# TYPE lakou_relay_authenticated_peers gauge$/m)
    expect(metrics).toMatch(/^lakou_relay_authenticated_peers 1$/m)
    expect((await fetch(`${base}/nope`)).status).toBe(404)
    await stop(till)
    await stop(relay)
  })

  it('syncs with a peer that reaches it over its WebSocket address (the browser path)', async () => {
    const relay = await start(RELAY, { data: join(root, 'relay-ws') })
    const ws = relay.ready.addrs.find((a) => a.includes('/ws/p2p/'))!
    expect(ws).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws\/p2p\//)
    const writer = await tillOnline(relay, join(root, 'ws-writer'))
    const url = String((await writer.request('create', { doc: { via: 'ws' } })).url)
    await relayHolds(relay, url, 'via', 'ws')
    await stop(writer)
    const reader = await start(PEER, { listen: [] })
    await relay.request('trust', { key: reader.ready.publicKey })
    await reader.request('trust', { key: relay.ready.publicKey, kind: 'relay' })
    await reader.request('dial', { addr: ws })
    const got = await reader.request('wait', { url, key: 'via', value: 'ws', timeoutMs: 15_000 })
    expect(got.doc).toMatchObject({ via: 'ws' })
    await Promise.all([stop(reader), stop(relay)])
  })

  it('makes a till with no dialable address reachable through a circuit relay v2 reservation', async () => {
    const relay = await start(RELAY, { data: join(root, 'relay-circuit') })
    // Behind "NAT": listens only on circuit addresses, so the only way in is through the relay.
    const hidden = await start(PEER, { data: join(root, 'hidden'), listen: ['/p2p-circuit'] })
    await relay.request('trust', { key: hidden.ready.publicKey })
    await hidden.request('trust', { key: relay.ready.publicKey, kind: 'relay' })
    await hidden.request('dial', { addr: tcpAddr(relay) })
    let circuit: string | undefined
    const deadline = Date.now() + 15_000
    while (!circuit && Date.now() < deadline) {
      const { addrs } = (await hidden.request('addrs')) as { addrs: string[] }
      circuit = addrs.find(
        (a) => a.includes('/p2p-circuit/p2p/') && a.includes('/tcp/') && !a.includes('/ws'),
      )
      if (!circuit) await new Promise((r) => setTimeout(r, 100))
    }
    expect(circuit, 'reservation on the relay').toBeDefined()

    const url = String((await hidden.request('create', { doc: { secret: 'behind-nat' } })).url)
    const visitor = await start(PEER, {})
    await visitor.request('trust', { key: hidden.ready.publicKey })
    await hidden.request('trust', { key: visitor.ready.publicKey })
    // The visitor reaches the relay first: both are certified to each other as in a real federation.
    await visitor.request('trust', { key: relay.ready.publicKey, kind: 'relay' })
    await relay.request('trust', { key: visitor.ready.publicKey })
    await visitor.request('dial', { addr: circuit })
    const got = await visitor.request('wait', { url, key: 'secret', value: 'behind-nat', timeoutMs: 15_000 })
    expect(got.doc).toMatchObject({ secret: 'behind-nat' })
    const { status } = (await visitor.request('status')) as { status: Array<{ peerId: string; via: string }> }
    expect(status.find((s) => s.peerId === hidden.ready.peerId)?.via).toBe('relay')
    await Promise.all([stop(visitor), stop(hidden), stop(relay)])
  })
})
