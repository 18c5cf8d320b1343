// One festival till in its own OS process: a real venue node (sync/node createVenueNode: libp2p, automerge
// on disk, index feed) with the ledger's LedgerIndex behind it, driven by the festival bench over stdin/stdout
// (one JSON object per line). Run: node sync/node/run-bundled.mjs bench/festival/till-proc.ts
//   --data DIR --till I --tills N --cards C --seed S
// Commands {id, cmd}: dial, linked, block, unblock, sell (start/stop selling at a rate), sellOne, stats,
// ledgerReady, has, final, clock, bare, bareDial, stop.
// Events: ready (with readyMs since process start), sold (acknowledged = on disk), error.
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import v8 from 'node:v8'
import { multiaddr } from '@multiformats/multiaddr'
import { fromHex, sha256, toHex } from '../../ledger/mod.ts'
import { connectionCloseReasons, createLakouHost } from '../../sync/net/host.ts'
import { createVenueNode } from '../../sync/node/venue-node.ts'
import { emit, serveCommands } from '../../sync/test/json-lines-child.ts'
import { CachedLedgerCounts } from './ledger-counts.ts'
import { MemorySampler, memoryBreakdown } from './memory-probe.ts'
import { advance, type CardPosition, festivalCard, freshCard, nextCardRecord, prng } from './workload.ts'

const args = process.argv.slice(2)
const arg = (name: string, fallback?: string) => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1]! : fallback
}
// Static imports are evaluated before this line: the module loading share of a cold start.
const importedMs = performance.now()
// A/B of V8 flags set at run time (not at process start): LAKOU_V8_RUNTIME_FLAGS="--heap-growing-percent=50"
if (process.env.LAKOU_V8_RUNTIME_FLAGS) v8.setFlagsFromString(process.env.LAKOU_V8_RUNTIME_FLAGS)
const out = emit
const dataDir = arg('--data')!
const tillNo = Number(arg('--till', '0'))
const tills = Number(arg('--tills', '1'))
const cards = Number(arg('--cards', '1000'))
const seed = Number(arg('--seed', '1'))

// The node's own LedgerIndex: fed by sync; after a start from a copied checkpoint it is rebuilt from the
// pages on disk in the background (node.ledgerReady) while the node already syncs and can append.
const node = await createVenueNode({
  dataDir,
  listen: ['/ip4/127.0.0.1/tcp/0'],
  mdns: false,
  // A/B switches for the sync engine's batching (sync/node defaults when unset).
  ...(process.env.LAKOU_PAGE_FLUSH_MS ? { pageFlushMs: Number(process.env.LAKOU_PAGE_FLUSH_MS) } : {}),
  ...(process.env.LAKOU_REPO_SAVE_MS ? { repoSaveMs: Number(process.env.LAKOU_REPO_SAVE_MS) } : {}),
  ...(process.env.LAKOU_BULK_HEAP === '0' ? { bulkIngestHeap: false } : {}),
  // the checkpoint's base interval (bench/idle.ts shortens it to see several checkpoint rounds in a run)
  ...(process.env.LAKOU_CHECKPOINT_MS ? { checkpointEveryMs: Number(process.env.LAKOU_CHECKPOINT_MS) } : {}),
  // A/B: every document re-synced on every new link, as before link-resync.ts
  ...(process.env.LAKOU_SKIP_UNCHANGED === '0' ? { skipUnchangedDocs: false } : {}),
  log: (l) => process.stderr.write(`${l}\n`),
})
const index = node.ledger
// Memory breakdown (issue 3), sampled every LAKOU_MEM_SAMPLE_MS; with LAKOU_MEM_REPORT_DIR each till writes
// its report there at stop (till-<till>-<pid>.json): every bench gets it without a change of its own.
const handleCounts = () => {
  const handles = Object.values(node.repo.handles)
  return { docsLoaded: handles.length, docsReady: handles.filter((h) => h.isReady()).length }
}
const memSampleMs = Number(process.env.LAKOU_MEM_SAMPLE_MS ?? 0)
const sampler = memSampleMs > 0 ? new MemorySampler(memSampleMs, handleCounts) : undefined
const memoryReport = () => ({
  till: tillNo,
  ...(sampler ? sampler.report() : { now: memoryBreakdown() }),
  docs: handleCounts(),
  records: node.sink.size,
})
// Rebuilt from the pages on disk after a start from a copied checkpoint (sync/node ledger-rebuild loads the
// federation and venue docs itself, so no statement is missing).
// sinceStartMs: when the views were back (not when the bench asked).
const ledgerReady = node.ledgerReady.then((r) => ({ ...r, sinceStartMs: performance.now() }))
// The ledger's counts for `stats`, recounted only after an ingest (ledger-counts.ts: a full count walks every
// entry, ~7 ms at 200k records, and the festival polls every till every 250 ms while it waits). Made once the
// ledger is back: a rebuild's ingests started before it would not be seen.
let ledgerCounts: CachedLedgerCounts | undefined
ledgerReady.then(
  () => {
    ledgerCounts = new CachedLedgerCounts(index)
  },
  () => {}, // the `ledgerReady` command reports the failure
)

// Event loop stalls over 1 s (a check every 250 ms that fired that late), the last ten: the bench logs them
// beside a link that does not come back (was the till's own loop stuck, or its peer?).
const stalls: Array<{ atMs: number; ms: number }> = []
let loopCheck = performance.now()
setInterval(() => {
  const now = performance.now()
  const late = now - loopCheck - 250
  loopCheck = now
  if (late < 1_000) return
  stalls.push({ atMs: Math.round(now), ms: Math.round(late) })
  if (stalls.length > 10) stalls.shift()
}, 250).unref()

// Partitions: network.blockPeer is a cut at the transport (the connection gater refuses the peer, its
// connections close); the tills keep trying to redial each other through it, as behind a real cut, and find
// each other again by themselves once it is lifted (sync/net/reconnect.ts).
const blocked = new Set<string>()
/** Peers this till dropped, by reason (error name): what makes links churn under load. */
const drops: Record<string, number> = {}
node.network.access.on('peer:dropped', ({ error }) => {
  drops[error.name] = (drops[error.name] ?? 0) + 1
})
/** When each peer was last unblocked (performance.now()), to say where a heal's time went. */
const unblockedAt = new Map<string, number>()

// Links stay up by the node itself: a certified peer is tagged keep-alive (sync/net/access.ts), so libp2p's
// reconnect queue redials it when the connection monitor aborts a connection whose ping timed out on a
// loaded event loop. Counted here: connections re-opened to a peer this till was connected to before.
const everConnected = new Set<string>()
let redials = 0
node.network.host.addEventListener('connection:open', (e) => {
  const peer = e.detail.remotePeer.toString()
  if (blocked.has(peer)) return
  if (everConnected.has(peer)) redials++
  everConnected.add(peer)
})

// This till serves the cards n with n % tills === tillNo: a card is at one bar at a time, so no card forks.
const positions = new Map<number, CardPosition>()
const position = (n: number): CardPosition => {
  const known = positions.get(n)
  if (known) return known
  if (n >= cards) return freshCard(n)
  const card = festivalCard(n)
  const next = index.nextChainPosition(card)
  if (!next) throw new Error(`card ${n} is forked in this till's index`)
  const eur = next.balances.find((b) => b.asset === 'EUR')?.amount ?? 0
  return { card, seq: next.cardSeq - 1, head: next.cardPrev, balance: eur }
}
const random = prng(seed * 1000 + tillNo)
const ownCards = Math.max(1, Math.floor((cards - tillNo - 1) / tills) + 1)
// A new card (never sold before) can be sold to before the ledger views are rebuilt: its position is known.
let newCards = 0
async function sellOnce(newCard = false): Promise<string> {
  const n = newCard
    ? cards + tillNo + tills * (Math.floor(Date.now() / 1000) * 16 + newCards++)
    : tillNo + tills * Math.floor(random() * ownCards)
  const pos = position(n)
  const body = nextCardRecord(pos, random)
  const r = await node.appendRecord(body)
  positions.set(n, advance(pos, body, r.hash))
  return toHex(r.hash)
}

let selling: { stop: boolean } | undefined
function startSelling(perSecond: number): void {
  const run = { stop: false }
  selling = run
  const gap = 1000 / perSecond
  void (async () => {
    // Card positions come from the ledger views: sell once they cover the history.
    await ledgerReady
    let next = performance.now()
    while (!run.stop) {
      try {
        const hash = await sellOnce()
        out({ event: 'sold', hash })
      } catch (e) {
        out({ event: 'error', error: (e as Error).message })
      }
      next += gap
      const wait = next - performance.now()
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    }
  })()
}

// Order-free summary of the sync index: per device chain, its length and the hash at its top. Chains are
// hash-linked (devicePrev), so equal summaries with complete chains mean identical record sets; O(devices).
function chainDigest(): { digest: string; complete: boolean } {
  const parts: string[] = []
  let complete = true
  for (const [device, chain] of [...node.sink.devices].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const top = chain.seqs.get(chain.seqs.size)
    if (!top) complete = false
    parts.push(`${device}:${chain.seqs.size}:${top ?? '?'}:${chain.forks.length}`)
  }
  parts.push(`statements:${node.sink.statements.size}`)
  return { digest: toHex(sha256(new TextEncoder().encode(parts.join('\n')))).slice(0, 32), complete }
}

// The derived views every replica must agree on: every card (balances, chain head, frozen, in the order
// snapshot() lists them), the venue's takings and the fork evidence. Hashed card by card: the ledger's
// snapshot() (200k sorted hex strings, then one JSON text) added 32-36 MB to a till's peak RSS at 200k
// records, which the bench then counted as the till's own.
function balancesDigest(): { digest: string; cards: number } {
  const h = createHash('sha256')
  let cards = 0
  for (const id of index.cardIds()) {
    h.update(JSON.stringify(index.card(id)))
    h.update('\n')
    cards++
  }
  const venueId = node.config.venueId
  h.update(JSON.stringify(venueId ? index.takings(fromHex(venueId)) : []))
  h.update(JSON.stringify(index.forks().map((f) => ({ ...f, records: f.records.length }))))
  return { digest: h.digest('hex').slice(0, 32), cards }
}

const trafficEpoch = () => {
  const at = node.network.adapter.traffic.lastFrameAt
  return at === 0 ? 0 : Math.round(performance.timeOrigin + at)
}

const peakRssMb = () => {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))
  return m ? Math.round(Number(m[1]) / 1024) : Math.round(process.memoryUsage().rss / 1048576)
}

// A second libp2p host in this process with no Lakou protocol (no hello, no sync, no push): the baseline of
// bench/reconnect.ts, a bare connection (TCP, noise, yamux, identify) between the same two processes.
let bareHost: Awaited<ReturnType<typeof createLakouHost>> | undefined

async function handle(c: Record<string, unknown>): Promise<Record<string, unknown>> {
  switch (c.cmd) {
    case 'clock':
      // the CPU profile's clock (V8 ticks = CLOCK_MONOTONIC, in us) and the wall clock, read together
      return { monotonicUs: Number(process.hrtime.bigint() / 1000n), epochMs: Date.now(), pid: process.pid }
    case 'settle': {
      // Resolves once no repo frame has gone in or out for quietMs (at most maxMs): the document sync of a
      // new link is over. Waits here rather than being polled (each poll a reply line: bench CPU in the till).
      const quietMs = Number(c.quietMs ?? 1500)
      const until = performance.now() + Number(c.maxMs ?? 120_000)
      const traffic = node.network.adapter.traffic
      for (;;) {
        const quietFor = performance.now() - traffic.lastFrameAt
        if (quietFor >= quietMs || performance.now() >= until) break
        await new Promise((r) => setTimeout(r, quietMs - quietFor + 5))
      }
      return { lastFrameEpochMs: trafficEpoch() }
    }
    case 'bare': {
      bareHost ??= await createLakouHost({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
      return { addresses: bareHost.getMultiaddrs().map((a) => a.toString()) }
    }
    case 'bareDial': {
      // Connect to the other till's bare host, wait for identify (both sides' first protocol), hang up.
      if (!bareHost) throw new Error('bare host not started')
      const host = bareHost
      const t = performance.now()
      const identified = new Promise<void>((resolve) => {
        const on = () => {
          host.removeEventListener('peer:identify', on)
          resolve()
        }
        host.addEventListener('peer:identify', on)
      })
      const connection = await host.dial(multiaddr(String(c.addr)))
      await identified
      const ms = performance.now() - t
      await connection.close()
      return { ms }
    }
    case 'dial': {
      await node.network.host.dial(multiaddr(String(c.addr)))
      await node.network.access.whenAuthenticated(String(c.peerId), 15_000)
      return {}
    }
    case 'linked': {
      // Waits until the peer has passed the handshake again (after a heal: the tills' own redials), and
      // says where the time went: ms after the unblock of this till's last redial (start, end: TCP + noise
      // + yamux) and of the handshake's end. No redial after the unblock: the peer dialled.
      const peerId = String(c.peerId)
      await node.network.access.whenAuthenticated(peerId, Number(c.timeoutMs ?? 20_000))
      const base = unblockedAt.get(peerId) ?? performance.now()
      const at = (t: number) => Math.round(t - performance.timeOrigin - base)
      const redial = node.network.reconnector?.lastRedial(peerId)
      const ours = redial && at(redial.startedAt) >= 0 ? redial : undefined
      return {
        authenticatedMs: Math.round(performance.now() - base),
        ...(ours
          ? {
              redialStartMs: at(ours.startedAt),
              redialEndMs: at(ours.endedAt ?? ours.startedAt),
              redialError: ours.error,
              redialAttempt: ours.attempt,
            }
          : {}),
      }
    }
    case 'linkState':
      // Where each link to these peers stands (connections, handshake, redials): logged by the bench for a
      // healed link that did not come back by itself.
      return {
        ...Object.fromEntries((c.peerIds as string[]).map((p) => [p, node.network.linkState(p)])),
        stalls: stalls.map((x) => ({ agoMs: Math.round(performance.now() - x.atMs), ms: x.ms })),
      }
    case 'block': {
      await Promise.all(
        (c.peerIds as string[]).map((p) => {
          blocked.add(p)
          return node.network.blockPeer(p)
        }),
      )
      return {}
    }
    case 'unblock':
      for (const p of c.peerIds as string[]) {
        blocked.delete(p)
        unblockedAt.set(p, performance.now())
        node.network.unblockPeer(p)
      }
      return {}
    case 'sell': {
      if (c.perSecond) startSelling(Number(c.perSecond))
      else if (selling) selling.stop = true
      return {}
    }
    case 'sellOne': {
      const t = performance.now()
      const hash = await sellOnce(Boolean(c.newCard))
      return { hash, ackMs: performance.now() - t }
    }
    case 'digest': {
      // What the bench's convergence wait polls every 250 ms: the sync index's chain summary only, O(devices).
      // The ledger's counts (a walk of every entry when it changed) are asked once every digest matches.
      return { size: node.sink.size, ...chainDigest() }
    }
    case 'stats': {
      // recount: the ledger's full count (as before ledger-counts.ts; bench/idle.ts measures both)
      const counts = ledgerCounts && !c.recount ? ledgerCounts.counts() : index.counts()
      return {
        size: node.sink.size,
        ...chainDigest(),
        valid: counts.valid,
        pending: counts.pending,
        // pending() sorts every pending record: at 170k pending (a 200k catch-up) it was a fifth of the till's CPU
        waitingFor: counts.pending && counts.pending <= 1000 ? index.pending()[0]?.waitingFor : undefined,
        rejected: counts.rejected + node.sink.rejected,
        peers: node.network.host.getConnections().length,
        redials,
        // dials by the node's reconnector that opened a connection (after cuts, dropped links)
        reconnects: node.network.reconnector?.redials ?? 0,
        drops,
        // why this till's connections closed, by reason (sync/net/host.ts), summed by the bench
        closeReasons: Object.fromEntries(connectionCloseReasons(node.network.host)),
        rssMb: peakRssMb(),
        // automerge-repo messages through the sync adapter so far (frames, bytes, last frame)
        traffic: { ...node.network.adapter.traffic, lastFrameEpochMs: trafficEpoch() },
        // user + system CPU of this process so far (all its threads: the verify pool included)
        cpuMs: (() => {
          const u = process.cpuUsage()
          return Math.round((u.user + u.system) / 1000)
        })(),
      }
    }
    case 'ledgerReady': {
      return await ledgerReady
    }
    case 'memory':
      return memoryReport()
    case 'has': {
      await node.idle()
      const missing = (c.hashes as string[]).filter((h) => !node.sink.has(h))
      return { missing }
    }
    case 'final': {
      await node.idle()
      return { digest: node.sink.digest(), balances: balancesDigest(), forks: index.forks().length }
    }
    case 'stop':
      await bareHost?.stop()
      if (selling) selling.stop = true
      writeMemoryReport()
      await node.stop()
      setTimeout(() => process.exit(0), 20)
      return {}
    default:
      throw new Error(`unknown command ${String(c.cmd)}`)
  }
}

function writeMemoryReport(): void {
  const dir = process.env.LAKOU_MEM_REPORT_DIR
  if (!dir) return
  writeFileSync(path.join(dir, `till-${tillNo}-${process.pid}.json`), JSON.stringify(memoryReport(), null, 1))
}

// The bench is gone (killed or crashed): do not linger as an orphan holding ports and CPU.
serveCommands(handle, () => void node.stop().finally(() => process.exit(0)))
out({
  event: 'ready',
  peerId: node.peerId,
  addresses: node.addresses(),
  importedMs,
  readyMs: performance.now(),
  // where createVenueNode spent the start (ms per phase), for the bench's cold start line
  startup: node.startup,
})
