// `npm run bench -- festival [--json out.json] [--tills 50] [--records 200000] [--seconds 60] [--rate 2]`
// Tills are separate OS processes (sync/test/node-proc.ts), each a libp2p node with a full replica, in a
// ring with chords. Existing records are written into each till's own ledger pages before start (its chain
// continues after them); the tills then replicate everything (initial sync, not timed as convergence).
// Live phase: every till sells at --rate tx/s for --seconds while groups of tills are cut off for a while
// (random, fixed seed), then all heal. Figures: convergence after heal, lost acknowledged records,
// identical ledger views, a fresh till's catch-up, a till's cold start (spawn to ready to sell), max RSS.
import path from 'node:path'
import { type AutomergeUrl, Repo } from '@automerge/automerge-repo'
import { DurableFsStorageAdapter } from '../sync/docs/durable-storage.ts'
import { DocumentLayout, type LedgerPageDoc, PAGE_CAPACITY, type VenueDoc } from '../sync/docs/mod.ts'
import { dataPaths, readNodeConfig } from '../sync/node/config.ts'
import { loadKey } from '../sync/node/files.ts'
import { DeviceChainWriter, toHex } from '../sync/node/ledger.ts'
import { enrollDevice } from '../sync/node/setup.ts'
import { connect, type NodeProcess, setupFederation, startNode, stopAll } from '../sync/test/cluster.ts'
import { type Bench, numberArg } from './harness.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// Deterministic PRNG (mulberry32) so partitions are reproducible; the seed is printed.
function rng(seed: number) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Writes `count` signed top-ups of this till into its own ledger pages (one Automerge change per page). */
export async function preload(dataDir: string, count: number, cardBase: number): Promise<void> {
  if (count <= 0) return
  const config = await readNodeConfig(dataDir)
  const device = await loadKey(dataPaths(dataDir).deviceKey)
  const repo = new Repo({ storage: new DurableFsStorageAdapter(dataPaths(dataDir).automerge) })
  const layout = new DocumentLayout(repo)
  const venue = await repo.find<VenueDoc>(config.venueUrl as AutomergeUrl)
  const chain = new DeviceChainWriter(device)
  const deviceHex = toHex(device.publicKey)
  for (let page = 0; page * PAGE_CAPACITY < count; page++) {
    const n = Math.min(PAGE_CAPACITY, count - page * PAGE_CAPACITY)
    const records: Uint8Array[] = []
    for (let i = 0; i < n; i++) {
      const card = new Uint8Array(8)
      card[0] = 2
      new DataView(card.buffer).setUint32(4, cardBase + page * PAGE_CAPACITY + i)
      const body = {
        kind: 'top-up',
        chain: { card, cardSeq: 1, cardPrev: new Uint8Array(32) },
        asset: 'EUR',
        amount: 500,
        method: 'cash',
      }
      records.push((await chain.append(body as never)).bytes)
    }
    const h = layout.createPage(venue, deviceHex, page)
    h.change((d: LedgerPageDoc) => {
      for (const r of records) d.records.push(r)
    })
  }
  await repo.flush()
  await repo.shutdown()
}

type Stats = { size: number; digest: string; ledgerDigest: string; rss: number; ledger: { valid: number } }

async function allStats(nodes: NodeProcess[]): Promise<Stats[]> {
  return (await Promise.all(nodes.map((n) => n.send({ cmd: 'stats' }, 120_000)))) as unknown as Stats[]
}

async function waitConverged(
  nodes: NodeProcess[],
  timeoutMs: number,
): Promise<{ ms: number; stats: Stats[] }> {
  const t0 = performance.now()
  for (;;) {
    const stats = await allStats(nodes)
    if (
      new Set(stats.map((s) => s.digest)).size === 1 &&
      new Set(stats.map((s) => s.ledgerDigest)).size === 1
    ) {
      return { ms: performance.now() - t0, stats }
    }
    if (performance.now() - t0 > timeoutMs) {
      console.error(`festival: not converged: ${stats.map((s) => `${s.size}/${s.ledger.valid}`).join(' ')}`)
      return { ms: Number.POSITIVE_INFINITY, stats }
    }
    if (process.env.LAKOU_DEBUG)
      console.error(stats.map((s) => `${s.size}:${s.digest.slice(0, 6)}`).join(' '))
    await sleep(250)
  }
}

export const run: Bench = async ({ args }) => {
  const tills = numberArg(args, '--tills', 50)
  const records = numberArg(args, '--records', 200_000)
  const seconds = numberArg(args, '--seconds', 60)
  const rate = numberArg(args, '--rate', 2)
  const seed = numberArg(args, '--seed', 42)
  const venues = Math.max(1, Math.min(5, Math.floor(tills / 4)))
  const perVenue = Math.ceil(tills / venues)
  console.error(
    `festival: ${tills} tills (processes), ${records} records, ${seconds}s at ${rate} tx/s, seed ${seed}`,
  )
  const random = rng(seed)
  const fed = await setupFederation(venues, perVenue)
  const dirs = fed.devices.slice(0, tills)
  const nodes: NodeProcess[] = []
  try {
    const t0 = performance.now()
    for (let i = 0; i < dirs.length; i++) {
      await preload(dirs[i]!, Math.floor(records / tills) + (i < records % tills ? 1 : 0), i * 10_000_000)
    }
    console.error(`festival: preloaded in ${((performance.now() - t0) / 1000).toFixed(1)}s`)
    // Start in small batches: two cores, tsx start-up per process.
    for (let i = 0; i < dirs.length; i += 4) {
      nodes.push(...(await Promise.all(dirs.slice(i, i + 4).map((d) => startNode(d)))))
    }
    // Ring plus chords: every till dials the next one and the one a third of the way round.
    const edges: Array<[number, number]> = []
    for (let i = 0; i < nodes.length; i++) {
      edges.push([i, (i + 1) % nodes.length])
      const chord = (i + Math.floor(nodes.length / 3)) % nodes.length
      if (nodes.length > 3 && chord !== i) edges.push([i, chord])
    }
    const dialAll = async () => {
      for (const [a, b] of edges) await connect(nodes[a]!, nodes[b]!).catch(() => {})
    }
    if (nodes.length > 1) await dialAll()
    const initial = await waitConverged(nodes, 600_000)
    console.error(
      `festival: initial replication ${(initial.ms / 1000).toFixed(1)}s, ${initial.stats[0]?.size} entries`,
    )

    // Live sales with partitions.
    const acked: string[] = []
    for (const n of nodes) n.onEvent((e) => e.event === 'ack' && acked.push(String(e.hash)))
    for (const n of nodes) await n.send({ cmd: 'stream', intervalMs: Math.round(1000 / rate) })
    const tEnd = performance.now() + seconds * 1000
    const cut = new Set<number>()
    while (performance.now() < tEnd) {
      // Cut a random group (10-30% of tills) off from the rest for 10-30 s (shortened for short runs).
      const group = nodes.map((_, i) => i).filter(() => random() < 0.1 + random() * 0.2)
      const inside = new Set(group)
      const outsideIds = nodes.filter((_, i) => !inside.has(i)).map((n) => n.peerId)
      const insideIds = group.map((i) => nodes[i]!.peerId)
      await Promise.all(group.map((i) => nodes[i]!.send({ cmd: 'block', peerIds: outsideIds })))
      await Promise.all(
        nodes.filter((_, i) => !inside.has(i)).map((n) => n.send({ cmd: 'block', peerIds: insideIds })),
      )
      for (const i of group) cut.add(i)
      const hold = Math.min(tEnd - performance.now(), (10 + random() * 20) * 1000 * Math.min(1, seconds / 60))
      await sleep(Math.max(0, hold))
      await Promise.all(nodes.map((n) => n.send({ cmd: 'unblock' })))
      await dialAll()
    }
    console.error(`festival: live phase done, ${acked.length} acknowledged`)
    for (const n of nodes) await n.send({ cmd: 'stopStream' })
    await sleep(1000) // last in-flight appends are acknowledged
    // Heal: everyone unblocked and the topology redialled; time until every index is identical.
    await Promise.all(nodes.map((n) => n.send({ cmd: 'unblock' })))
    const tHeal = performance.now()
    await dialAll()
    const healed = await waitConverged(nodes, numberArg(args, '--timeout', 120) * 1000)
    console.error(`festival: healed in ${((performance.now() - tHeal) / 1000).toFixed(1)}s`)
    const convergenceSeconds = (performance.now() - tHeal) / 1000
    const missing = await Promise.all(nodes.map((n) => n.send({ cmd: 'has', hashes: acked }, 120_000)))
    const lostRecords = new Set(missing.flatMap((m) => m.missing as string[])).size
    const balancesIdentical = new Set(healed.stats.map((s) => s.ledgerDigest)).size === 1

    // A fresh till joins and validates everything.
    const freshDir = path.join(fed.root, 'fresh-till')
    await enrollDevice(path.join(fed.root, 'venue0'), freshDir, { roles: ['cashier'] })
    const fresh = await startNode(freshDir)
    nodes.push(fresh)
    const tJoin = performance.now()
    for (const i of [0, Math.floor(tills / 2)])
      if (nodes[i] && nodes[i] !== fresh) await connect(fresh, nodes[i]!)
    // Its own certificate reaches the others too, so compare with a live digest, not the one at heal.
    const peer = nodes[0]!
    for (;;) {
      const [s, p] = (await Promise.all([
        fresh.send({ cmd: 'stats' }, 120_000),
        peer.send({ cmd: 'stats' }),
      ])) as unknown as Stats[]
      if (s!.digest === p!.digest && s!.ledgerDigest === p!.ledgerDigest) break
      if (performance.now() - tJoin > numberArg(args, '--timeout', 120) * 1000) {
        console.error(`festival: fresh till not caught up: ${s!.size} vs ${p!.size}`)
        break
      }
      await sleep(250)
    }
    console.error(`festival: fresh till caught up in ${((performance.now() - tJoin) / 1000).toFixed(1)}s`)
    const catchUpSeconds = (performance.now() - tJoin) / 1000

    // Cold start: a till stops and restarts; spawn to ready to sell (includes Node + tsx start-up).
    const victim = nodes[1] ?? nodes[0]!
    await victim.send({ cmd: 'stop' })
    await victim.exited
    const tCold = performance.now()
    const restarted = await startNode(victim.dataDir)
    const coldStartSeconds = (performance.now() - tCold) / 1000
    const idx = nodes.indexOf(victim)
    nodes[idx] = restarted
    const ledgerReady = await restarted.send({ cmd: 'ledgerReady' }, 300_000)

    const finalStats = await allStats(nodes)
    const maxRssMb = Math.round(Math.max(...finalStats.map((s) => s.rss)) / 1048576)
    const round = (n: number) => Math.round(n * 100) / 100
    const json = {
      tills,
      records,
      convergenceSeconds: round(convergenceSeconds),
      lostRecords,
      balancesIdentical,
      catchUpSeconds: round(catchUpSeconds),
      coldStartSeconds: round(coldStartSeconds),
      nodeStartSeconds: round(restarted.startMs / 1000),
      maxRssMb,
      liveRecords: acked.length,
      ledgerRebuildSeconds: round(Number(ledgerReady.ms) / 1000),
      workers: 'processes',
      seed,
    }
    const base = { name: 'initial replication s', value: round(initial.ms / 1000) }
    return {
      json,
      rows: [
        {
          metric: 'convergence after heal',
          value: json.convergenceSeconds,
          unit: 's',
          baseline: base,
          target: '<= 10',
          ok: convergenceSeconds <= 10,
        },
        {
          metric: 'lost acknowledged records',
          value: lostRecords,
          unit: '',
          target: '0',
          ok: lostRecords === 0,
        },
        {
          metric: 'ledger views identical (1 = yes)',
          value: balancesIdentical ? 1 : 0,
          unit: '',
          target: '1',
          ok: balancesIdentical,
        },
        {
          metric: 'fresh till catch-up',
          value: json.catchUpSeconds,
          unit: 's',
          baseline: base,
          target: '<= 30',
          ok: catchUpSeconds <= 30,
        },
        {
          metric: 'cold start (spawn -> ready to sell)',
          value: json.coldStartSeconds,
          unit: 's',
          target: '<= 3',
          ok: coldStartSeconds <= 3,
        },
        {
          metric: 'of which createVenueNode (data dir to ready)',
          value: json.nodeStartSeconds,
          unit: 's',
          target: '<= 3',
          ok: json.nodeStartSeconds <= 3,
        },
        { metric: 'ledger index rebuilt after restart', value: json.ledgerRebuildSeconds, unit: 's' },
        { metric: 'max RSS per till', value: maxRssMb, unit: 'MB', target: '<= 300', ok: maxRssMb <= 300 },
        { metric: 'live records acknowledged', value: acked.length, unit: '' },
      ],
    }
  } finally {
    await stopAll(nodes)
    fed.cleanup()
  }
}
