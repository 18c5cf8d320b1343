// `lakou relay` end to end: a relay enrolled by a real federation runs as its own process through the CLI;
// a certified venue till (real certificates) bootstraps to it and passes the handshake; SIGTERM stops it.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import {
  admitVenue,
  createFederation,
  createVenueNode,
  enrollDevice,
  type VenueNode,
} from '../sync/node/mod.ts'
import { parseRelayArgs, RelayUsageError } from './command.ts'
import { type RelayCli, startRelayCli } from './fixtures/relay-cli.ts'

// A separate process on two shared cores: a generous budget.
vi.setConfig({ testTimeout: 90_000 })

let relay: RelayCli | undefined
let node: VenueNode | undefined
let root: string | undefined

afterAll(async () => {
  await node?.stop().catch(() => {})
  if (relay && relay.child.exitCode === null) relay.child.kill('SIGKILL')
  if (root) await rm(root, { recursive: true, force: true })
})

describe('parseRelayArgs', () => {
  it('reads the options and applies defaults', () => {
    expect(parseRelayArgs(['--data', '/d', '--ws-port', '0', '--listen', '/ip4/127.0.0.1/tcp/0'])).toEqual({
      data: '/d',
      listen: ['/ip4/127.0.0.1/tcp/0'],
      wsPort: 0,
      httpPort: 4003,
      announce: [],
      peers: [],
    })
    expect(parseRelayArgs(['--data', '/d']).listen).toEqual(['/ip4/0.0.0.0/tcp/4001'])
    expect(
      parseRelayArgs(['--data', '/d', '--peer', '/ip4/10.0.0.2/tcp/4001/p2p/x', '--peer', '/dns4/r/tcp/1'])
        .peers,
    ).toEqual(['/ip4/10.0.0.2/tcp/4001/p2p/x', '/dns4/r/tcp/1'])
  })

  it('refuses bad input with a typed error', () => {
    expect(() => parseRelayArgs([])).toThrow(RelayUsageError)
    expect(() => parseRelayArgs(['--data', '/d', '--http-port', '70000'])).toThrow(RelayUsageError)
    expect(() => parseRelayArgs(['--data', '/d', '--bogus', '1'])).toThrow(RelayUsageError)
  })
})

describe('lakou relay (CLI, separate process)', () => {
  it('starts from an enrolled data dir, admits a certified till, serves health, stops on SIGTERM', async () => {
    root = await mkdtemp(join(tmpdir(), 'lakou-relay-cli-'))
    const fed = join(root, 'federation')
    const venue = join(root, 'venue')
    await createFederation(fed)
    await admitVenue(fed, venue, 'Café test')
    await enrollDevice(fed, join(root, 'relay'), { roles: ['relay'] })
    await enrollDevice(venue, join(root, 'till'), { roles: ['cashier'] })

    relay = await startRelayCli(join(root, 'relay'))
    const { tcp, health, lines } = relay
    expect(lines.some((l) => l.startsWith('listening ') && l.includes('/ws/p2p/'))).toBe(true)

    // Before any till: the relay holds only what enrollment gave it (the federation doc).
    const before = Number(((await (await fetch(health)).json()) as Record<string, unknown>).documents)
    expect(before).toBeGreaterThanOrEqual(1)

    node = await createVenueNode({
      dataDir: join(root, 'till'),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      mdns: false,
      relays: [tcp],
      log: () => {},
    })
    let body: Record<string, unknown> = {}
    const deadline = Date.now() + 20_000
    while (Date.now() < deadline) {
      body = (await (await fetch(health)).json()) as Record<string, unknown>
      // The till bootstraps to the relay and, listening on /p2p-circuit, reserves a slot there.
      if (body.authenticatedPeers === 1 && body.reservations === 1) break
      await new Promise((r) => setTimeout(r, 200))
    }
    expect(body).toMatchObject({ ok: true, authenticatedPeers: 1, reservations: 1 })
    // Following the federation directory, the relay fetches the venue's documents from the till.
    while (Date.now() < deadline && Number(body.documents) <= before) {
      await new Promise((r) => setTimeout(r, 200))
      body = (await (await fetch(health)).json()) as Record<string, unknown>
    }
    expect(Number(body.documents)).toBeGreaterThan(before)
    await node.stop()
    node = undefined

    expect(await relay.stop(), relay.stderr()).toBe(0)
  })
})
