// CPU per record of the live receive path, in one process, without the festival's 20 tills around it:
// `node --import tsx bench/verify-live.ts [--records 4000] [--per-frame 10] [--copies 2.8] [--inline 8]`.
// Records come as the festival's tills get them: 'recs' frames of a few records from four peers, each
// record ~`copies` times in all (the first copy new, the rest duplicates), one frame per event-loop turn,
// through RecordPush -> IndexFeed -> ChainSink -> LedgerIndex, forwards batched to four peers (their
// frames encoded, not sent). Prints CPU per record (all threads, and the main thread from schedstat).
// `--gap-ms N` spaces the frames. `--inline 0`: every verify through the thread pool (the code before verifyInlineMax).
import { readFileSync } from 'node:fs'
import { cbor, Repo } from '@automerge/automerge-repo'
import { createFixture, LedgerIndex } from '../ledger/mod.ts'
import { makeKit } from '../ledger/test-kit.ts'
import {
  DocStatusBoard,
  DocumentLayout,
  IndexFeed,
  type PushTransport,
  RecordPush,
} from '../sync/docs/mod.ts'
import { ChainSink } from '../sync/node/chain-sink.ts'

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}
const RECORDS = arg('records', 4000)
const PER_FRAME = arg('per-frame', 10)
const COPIES = arg('copies', 2.8)
const INLINE = arg('inline', 8)
// ms between frames (0: one per event-loop turn); the festival's tills get a frame every ~10-40 ms
const GAP_MS = arg('gap-ms', 0)
const PEERS = ['p1', 'p2', 'p3', 'p4']

function mainThreadNs(): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0])
}
function cpuUs(): number {
  const u = process.cpuUsage()
  return u.user + u.system
}

// seeded order of copies: record i's first copy, then its duplicates a few frames later from other peers
let state = 20261122
const rand = () => {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0
  return state / 2 ** 32
}

const fx = await createFixture('verify-live', { venues: 2, tagCards: 20 })
const kit = await makeKit('verify-live', fx)
const writers = fx.venues.flatMap((v) => [fx.writer(v.cashier), fx.writer(v.admin)])
const records: Uint8Array[] = []
for (let i = 0; i < RECORDS; i++) {
  const w = writers[i % writers.length]!
  const card = fx.tagCards[Math.floor(rand() * fx.tagCards.length)]!
  records.push((await kit.topUp(w, card, 1 + Math.floor(rand() * 100))).bytes)
}
// deliveries: [frame slot, peer, record]
const slots: Array<Array<[string, Uint8Array]>> = []
const put = (slot: number, peer: string, bytes: Uint8Array) => {
  while (slots.length <= slot) slots.push([])
  slots[slot]!.push([peer, bytes])
}
let copies = 0
records.forEach((bytes, i) => {
  const base = Math.floor(i / PER_FRAME)
  const n = Math.floor(COPIES) + (rand() < COPIES - Math.floor(COPIES) ? 1 : 0)
  for (let c = 0; c < n; c++) {
    put(base + c * 2, PEERS[(i + c) % PEERS.length]!, bytes)
    copies++
  }
})
const frames: Array<[string, Uint8Array]> = []
for (const slot of slots) {
  const byPeer = new Map<string, Uint8Array[]>()
  for (const [peer, bytes] of slot) byPeer.set(peer, [...(byPeer.get(peer) ?? []), bytes])
  for (const [peer, list] of byPeer)
    frames.push([peer, new Uint8Array(cbor.encode({ t: 'recs', recs: list.map((b) => [b, 'page', 0]) }))])
}

const index = new LedgerIndex({ federation: fx.federation.publicKey, verifyInlineMax: INLINE })
await index.ingestMany(fx.statements)
const sink = new ChainSink(index)
const feed = new IndexFeed(new DocumentLayout(new Repo()), sink)
const board = new DocStatusBoard({ coalesceMs: 1000 })
let listener: ((peer: string, m: Uint8Array) => void) | undefined
let sentBytes = 0
const transport: PushTransport = {
  broadcast: (m) => {
    sentBytes += m.length * PEERS.length
  },
  sendTo: (_, m) => {
    sentBytes += m.length
  },
  onMessage: (fn) => {
    listener = fn
    return () => {}
  },
  misbehaved: (peer, reason) => console.error('misbehaved', peer, reason),
  peers: () => PEERS,
}
const push = new RecordPush(feed, board, transport, { batchMs: 200 })

const t0 = performance.now()
// the monotonic clock of --cpu-prof (us): the measured window of a profile
const fromUs = Number(process.hrtime.bigint() / 1000n)
// a preload may sample allocations over the measured window (see the file's head)
;(globalThis as { __heapStart?: () => void }).__heapStart?.()
const c0 = cpuUs()
const m0 = mainThreadNs()
for (const [peer, frame] of frames) {
  listener!(peer, frame)
  await new Promise((resolve) => (GAP_MS > 0 ? setTimeout(resolve, GAP_MS) : setImmediate(resolve)))
}
await feed.idle()
await new Promise((resolve) => setTimeout(resolve, 250)) // the last forward batch
const cpu = cpuUs() - c0
const main = (mainThreadNs() - m0) / 1000
const wall = performance.now() - t0
const toUs = Number(process.hrtime.bigint() / 1000n)
;(globalThis as { __heapStop?: () => void }).__heapStop?.()
push.stop()
const valid = index.counts().valid
console.log(
  JSON.stringify({
    inline: INLINE,
    records: RECORDS,
    valid,
    copies,
    frames: frames.length,
    cpuUsPerRecord: Math.round(cpu / RECORDS),
    mainUsPerRecord: Math.round(main / RECORDS),
    wallMs: Math.round(wall),
    sentKiB: Math.round(sentBytes / 1024),
    pushStats: push.stats,
    window: `${fromUs}-${toUs}`,
  }),
)
if (valid !== RECORDS) process.exitCode = 1
