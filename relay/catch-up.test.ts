// A till catching up through a relay only (its writers offline) gets full ledger pages whole from the relay's
// disk (`/lakou/ledger-page/1.0.0`), not page by page through the sync protocol, and still validates every
// record itself. Separate OS processes: `lakou relay` through the CLI, venue nodes, real libp2p on 127.0.0.1.
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { enrollDevice } from '../sync/node/mod.ts'
import {
  converged,
  type Federation,
  type NodeProcess,
  setupFederation,
  startNode,
  stopAll,
} from '../sync/test/cluster.ts'
import { type RelayCli, startRelayCli } from './fixtures/relay-cli.ts'

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 })

const PAGE = 5
const FULL_PAGES = 12
const RECORDS = FULL_PAGES * PAGE + 2 // and an open page the relay must not send whole

let fed: Federation | undefined
let relay: RelayCli | undefined
const nodes: NodeProcess[] = []

afterAll(async () => {
  await stopAll(nodes)
  await relay?.stop()
  fed?.cleanup()
})

const served = async (health: string) => {
  const text = await (await fetch(health.replace('/healthz', '/metrics'))).text()
  return Number(/^lakou_relay_pages_served_whole_total (\d+)$/m.exec(text)?.[1] ?? Number.NaN)
}

describe('catch-up through a relay', () => {
  it('sends full pages whole from the relay disk; the till validates every record', async () => {
    fed = await setupFederation(1, 3)
    const [dirA, dirB, dirC] = fed.devices as [string, string, string]
    const relayDir = join(fed.root, 'relay')
    await enrollDevice(join(fed.root, 'federation'), relayDir, { roles: ['relay'] })
    relay = await startRelayCli(relayDir)
    const start = async (dir: string) => {
      const n = await startNode(dir, ['--page', String(PAGE), '--relay', relay!.tcp])
      nodes.push(n)
      return n
    }

    // A writes the history; B, reaching only the relay, converges with it: the relay holds every record.
    const a = await start(dirA)
    for (let i = 0; i < RECORDS; i++) await a.send({ cmd: 'append', amount: 100 + i })
    const b = await start(dirB)
    await converged([a, b], RECORDS, 90_000)
    const sb = await b.send({ cmd: 'stats' })
    // The relay lets its full pages leave memory once they are saved (they are served from disk): it keeps
    // the federation and venue docs and the two open pages (A's last, B's first), not the 12 full ones.
    const documents = async () =>
      Number(((await (await fetch(relay!.health)).json()) as { documents: number }).documents)
    let held = await documents()
    for (let t = 0; t < 300 && held > 4; t++) {
      await new Promise((r) => setTimeout(r, 100))
      held = await documents()
    }
    expect(held).toBe(4)
    await stopAll([a, b])
    const before = await served(relay.health)

    // C was enrolled before any of this and meets only the relay.
    const c = await start(dirC)
    let sc = await c.send({ cmd: 'stats' })
    // Held by the sink is not yet validated by the ledger (its verdicts come a moment later): wait for both.
    const caughtUp = (s: typeof sc) =>
      Number(s.size) >= RECORDS && Number((s.ledger as { valid: number }).valid) >= RECORDS
    for (let t = 0; t < 900 && !caughtUp(sc); t++) {
      await new Promise((r) => setTimeout(r, 100))
      sc = await c.send({ cmd: 'stats' })
    }
    expect(sc.ledger).toMatchObject({ valid: RECORDS, pending: 0, rejected: 0 })
    // The same device chains as B (statements may differ: the relay's own certificate can reach one later).
    expect(sc.chains).toEqual(sb.chains)
    // Every full page came whole (the open one through sync), and the relay counted them.
    const pages = await c.send({ cmd: 'pages' })
    expect(pages.cameWhole).toBe(FULL_PAGES)
    expect((await served(relay.health)) - before).toBe(FULL_PAGES)
  })
})
