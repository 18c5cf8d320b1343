// Catch-up of a fresh till, with real libp2p between separate OS processes: a fresh node joining a peer that
// holds many full ledger pages gets them whole (their stored bytes, sync/node/page-transfer.ts), validates
// every record itself (its own ledger index, identical views), holds no full page in memory, and serves them
// from disk, whole, to a third node that can reach only it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  connect,
  converged,
  type Federation,
  type NodeProcess,
  setupFederation,
  startNode,
  stopAll,
} from './cluster.ts'

const PAGE = 5
const RECORDS = 12 * PAGE + 2 // twelve full pages (more than the page window of 4) and an open one

interface Pages {
  known: Array<{ documentId: string; indexed: number }>
  loaded: string[]
  cameWhole: number
}

describe('catch-up of a fresh till', () => {
  let fed: Federation
  const nodes: NodeProcess[] = []
  const start = async (dir: string) => {
    const n = await startNode(dir, ['--page', String(PAGE)])
    nodes.push(n)
    return n
  }

  beforeAll(async () => {
    fed = await setupFederation(1, 3)
  }, 60_000)

  afterAll(async () => {
    await stopAll(nodes)
    fed?.cleanup()
  }, 30_000)

  it('validates every record, lets full pages go, and serves them to a third node', async () => {
    const [dirA, dirB, dirC] = fed.devices as [string, string, string]
    const a = await start(dirA)
    for (let i = 0; i < RECORDS; i++) await a.send({ cmd: 'append', amount: 100 + i })
    expect((await a.send({ cmd: 'stats' })).ledger).toMatchObject({ valid: RECORDS, pending: 0, rejected: 0 })

    const b = await start(dirB)
    await connect(b, a)
    await converged([a, b], RECORDS, 60_000)
    const sa = await a.send({ cmd: 'stats' })
    let sb = await b.send({ cmd: 'stats' })
    // Validated by B's own ledger (not taken from A): every record valid, the same derived views.
    expect(sb.ledger).toMatchObject({ valid: RECORDS, pending: 0, rejected: 0 })
    expect(sb.ledgerDigest).toBe(sa.ledgerDigest)

    // Full pages, once indexed, leave B's repo; the open page stays. (Records may reach B's index first
    // through the push's anti-entropy: the pages follow.)
    const fullPages = (p: Pages) => p.known.filter((d) => d.indexed >= PAGE).map((d) => d.documentId)
    const settled = (p: Pages) =>
      fullPages(p).length === 12 && !p.loaded.some((id) => fullPages(p).includes(id))
    let pb = (await b.send({ cmd: 'pages' })) as unknown as Pages
    for (let t = 0; t < 600 && !settled(pb); t++) {
      await new Promise((r) => setTimeout(r, 100))
      pb = (await b.send({ cmd: 'pages' })) as unknown as Pages
    }
    expect(fullPages(pb)).toHaveLength(12)
    expect(pb.loaded.filter((id) => fullPages(pb).includes(id))).toEqual([])
    // The full pages came whole (A's stored bytes), not through the sync protocol.
    expect(pb.cameWhole).toBe(12)

    // A leaves; C, enrolled before any of this, reaches only B: every page comes from B's disk.
    await stopAll([a])
    const c = await start(dirC)
    await connect(c, b)
    await converged([b, c], RECORDS, 60_000)
    sb = await b.send({ cmd: 'stats' })
    const sc = await c.send({ cmd: 'stats' })
    expect(sc.ledger).toMatchObject({ valid: RECORDS, pending: 0, rejected: 0 })
    expect(sc.ledgerDigest).toBe(sb.ledgerDigest)
    expect(sc.digest).toBe(sb.digest)
    // B served them from the bytes it stored, whole. (Records may reach C first through the push's
    // anti-entropy: the pages follow.)
    let pc = (await c.send({ cmd: 'pages' })) as unknown as Pages
    for (let t = 0; t < 600 && !settled(pc); t++) {
      await new Promise((r) => setTimeout(r, 100))
      pc = (await c.send({ cmd: 'pages' })) as unknown as Pages
    }
    expect(pc.cameWhole).toBe(12)
    // B loaded its pages from disk to serve them to C; they leave its memory again (the layout's sweep).
    pb = (await b.send({ cmd: 'pages' })) as unknown as Pages
    for (let t = 0; t < 600 && !settled(pb); t++) {
      await new Promise((r) => setTimeout(r, 100))
      pb = (await b.send({ cmd: 'pages' })) as unknown as Pages
    }
    expect(pb.loaded.filter((id) => fullPages(pb).includes(id))).toEqual([])
  }, 120_000)
})
