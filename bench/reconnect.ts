// What a (re)connection between two tills costs (issue 3: heals at 50 tills). Two festival tills, each its
// own OS process, hold the same documents (the festival template: federation, venue, full history pages and
// one partial page per earlier till; `--history-devices 60` gives the ~60 partial pages a 50-till festival
// syncs over each link). The link between them is cut (`blockPeer` at both ends) and made again `--cycles`
// times; each time: wall time to the handshake's end and to the last automerge-repo frame, CPU of each
// process (minus its idle rate), repo frames and bytes. The first connection (no sync state with that peer
// yet) is reported apart. Baseline in the same run, between the same two processes: a bare libp2p connection
// (TCP, noise, yamux, identify; a second host in each process with no Lakou protocol).
// Run: npm run bench -- reconnect [--cycles 10] [--records 20000] [--history-devices 60] [--keep DIR]
//   [--sell N: each till sells N records while apart, before each reconnection] [--json out.json].
//   LAKOU_CHILD_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" profiles both tills; the JSON's `window` gives
//   each till's cycles as a CLOCK_MONOTONIC window (us) for bench/profile-split.ts.
//   LAKOU_SKIP_UNCHANGED=0: every document re-synced on every link (before sync/node/link-resync.ts).
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { keptFestival, tillArgs } from './festival/kept.ts'
import { prepareBundle, spawnTill, type Till } from './festival/tills.ts'
import { argValue, type Bench, type BenchRow, numberArg } from './harness.ts'

const TILL = 'bench/festival/till-proc.ts'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const round = (n: number) => Math.round(n * 100) / 100
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0
    ? 0
    : s.length % 2
      ? s[(s.length - 1) / 2]!
      : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

interface Traffic {
  framesIn: number
  framesOut: number
  bytesIn: number
  bytesOut: number
  lastFrameEpochMs: number
}

interface Snapshot {
  cpuMs: number
  traffic: Traffic
}

async function snapshot(t: Till): Promise<Snapshot> {
  const s = await t.send({ cmd: 'stats' }, 60_000)
  return { cpuMs: Number(s.cpuMs), traffic: s.traffic as Traffic }
}

/** One (re)connection, measured on both tills. */
export interface LinkCycle {
  /** ms from the dial to both ends having passed the hello. */
  helloMs: number
  /** ms from the dial to the last repo frame in or out on either till (document sync done). */
  syncMs: number
  /** CPU ms of each till for the cycle, minus its idle rate over the same time. */
  cpuMs: [number, number]
  /** Repo frames written by each till, and bytes. */
  framesOut: [number, number]
  bytesOut: [number, number]
}

/** Waits until neither till has moved a repo frame for `quietMs` (or `maxMs` passed). */
async function settle(tills: Till[], quietMs: number, maxMs: number): Promise<Snapshot[]> {
  // every repo frame between the two passes both adapters: each waiting for its own quiet is enough
  await Promise.all(tills.map((t) => t.send({ cmd: 'settle', quietMs, maxMs }, maxMs + 10_000)))
  return Promise.all(tills.map(snapshot))
}

const connectedTo = async (t: Till): Promise<number> => Number((await t.send({ cmd: 'stats' })).peers)

async function cut(a: Till, b: Till): Promise<void> {
  await Promise.all([
    a.send({ cmd: 'block', peerIds: [b.peerId] }),
    b.send({ cmd: 'block', peerIds: [a.peerId] }),
  ])
  for (let i = 0; i < 100 && ((await connectedTo(a)) > 0 || (await connectedTo(b)) > 0); i++) await sleep(100)
}

/** Idle CPU ms per second of each till over `ms` (link up, nothing to sync). */
async function idleRate(tills: Till[], ms: number): Promise<number[]> {
  const before = await Promise.all(tills.map(snapshot))
  const t0 = performance.now()
  await sleep(ms)
  const after = await Promise.all(tills.map(snapshot))
  const s = (performance.now() - t0) / 1000
  return after.map((x, i) => (x.cpuMs - before[i]!.cpuMs) / s)
}

async function cycle(a: Till, b: Till, idle: number[], quietMs: number, sell = 0): Promise<LinkCycle> {
  // sales while apart (not counted): the new link carries them (chain gossip, then page docs)
  for (let i = 0; i < sell; i++) await Promise.all([a, b].map((t) => t.send({ cmd: 'sellOne' })))
  const before = await Promise.all([a, b].map(snapshot))
  const t0 = Date.now()
  await Promise.all([
    a.send({ cmd: 'unblock', peerIds: [b.peerId] }),
    b.send({ cmd: 'unblock', peerIds: [a.peerId] }),
  ])
  // a dials; b's reconnector may dial too (the larger id waits 1 s more): libp2p keeps one of the two
  // (a dial crossing b's own redial can fail in noise: the other connection then makes the link)
  await a.send({ cmd: 'dial', addr: b.addresses[0], peerId: b.peerId }, 60_000).catch(() => {})
  await Promise.all([
    a.send({ cmd: 'linked', peerId: b.peerId, timeoutMs: 60_000 }, 70_000),
    b.send({ cmd: 'linked', peerId: a.peerId, timeoutMs: 60_000 }, 70_000),
  ])
  const helloMs = Date.now() - t0
  const after = await settle([a, b], quietMs, 120_000)
  const last = Math.max(...after.map((s) => s.traffic.lastFrameEpochMs))
  const elapsedS = (Date.now() - t0) / 1000
  const cpu = after.map((x, i) => x.cpuMs - before[i]!.cpuMs - idle[i]! * elapsedS)
  const out = after.map((x, i) => x.traffic.framesOut - before[i]!.traffic.framesOut)
  const bytes = after.map((x, i) => x.traffic.bytesOut - before[i]!.traffic.bytesOut)
  return {
    helloMs,
    syncMs: Math.max(helloMs, last - t0),
    cpuMs: [round(cpu[0]!), round(cpu[1]!)],
    framesOut: [out[0]!, out[1]!],
    bytesOut: [bytes[0]!, bytes[1]!],
  }
}

export const run: Bench = async ({ args }) => {
  const cycles = numberArg(args, '--cycles', 10)
  const records = numberArg(args, '--records', 20_000)
  const historyDevices = numberArg(args, '--history-devices', 60)
  const bareCycles = numberArg(args, '--bare-cycles', 20)
  // a cycle's sync is over once no repo frame moved for this long on either till
  const quietMs = numberArg(args, '--quiet-ms', 1500)
  // records each till sells while the link is cut, before each measured reconnection
  const sell = numberArg(args, '--sell', 0)
  const keep = argValue(args, '--keep')
  const seed = 1
  const cards = Math.max(1, Math.round(records / 10))
  const t00 = performance.now()
  const log = (s: string) =>
    console.error(`[reconnect +${((performance.now() - t00) / 1000).toFixed(1)}s] ${s}`)
  const fest = await keptFestival(keep, { tills: 2, records, cards, seed, historyDevices, log })
  const started: Till[] = []
  // Each run starts from the template's state: the tills write into their dirs (own page, sync states).
  const work = mkdtempSync(path.join(tmpdir(), 'lakou-reconnect-'))
  const dirs = [0, 1].map((i) => {
    const dir = path.join(work, `till${i}`)
    cpSync(fest.tills[i]!, dir, { recursive: true })
    return dir
  })
  try {
    await prepareBundle(TILL)
    const [a, b] = await Promise.all(
      [0, 1].map(async (i) => {
        const t = await spawnTill(TILL, tillArgs(dirs[i]!, i, { tills: 2, cards, seed }))
        started.push(t)
        await t.send({ cmd: 'ledgerReady' }, 600_000)
        return t
      }),
    )
    if (!a || !b) throw new Error('tills did not start')
    // Each till opens its own page (as festival tills do once they sell): one more partial page each.
    await Promise.all([a, b].map((t) => t.send({ cmd: 'sellOne' })))

    // Baseline: bare libp2p connections between the same two processes.
    const [bareB] = await Promise.all([b.send({ cmd: 'bare' }), a.send({ cmd: 'bare' })])
    const bareAddr = (bareB!.addresses as string[])[0]!
    const bareBefore = await Promise.all([a, b].map(snapshot))
    const bareT0 = performance.now()
    const bareMs: number[] = []
    let bareFailed = 0
    for (let i = 0; i < bareCycles; i++) {
      const r = await a.send({ cmd: 'bareDial', addr: bareAddr }).catch(() => undefined)
      if (r) bareMs.push(Number(r.ms))
      else bareFailed++
    }
    if (bareFailed > 0) log(`${bareFailed} bare connections failed`)
    await sleep(500)
    const bareAfter = await Promise.all([a, b].map(snapshot))
    const bareS = (performance.now() - bareT0) / 1000

    // The first connection (no sync state between them yet), then the measured cycles.
    const clockStart = await Promise.all([a, b].map((t) => t.send({ cmd: 'clock' })))
    await cut(a, b)
    const idleDown = await idleRate([a, b], 3000)
    const first = await cycle(a, b, idleDown, quietMs)
    log(`first connection: ${JSON.stringify(first)}`)
    const idleUp = await idleRate([a, b], 5000)
    const bareIdle = idleUp
    const bareCpu = bareAfter.map(
      (x, i) => (x.cpuMs - bareBefore[i]!.cpuMs - bareIdle[i]! * bareS) / Math.max(1, bareMs.length),
    )
    log(`bare libp2p connection: ${round(median(bareMs))} ms, CPU ${bareCpu.map(round).join(' / ')} ms`)
    const clockCycles = await Promise.all([a, b].map((t) => t.send({ cmd: 'clock' })))
    const runs: LinkCycle[] = []
    for (let i = 0; i < cycles; i++) {
      await cut(a, b)
      const c = await cycle(
        a,
        b,
        idleDown.map((x, j) => (x + idleUp[j]!) / 2),
        quietMs,
        sell,
      )
      runs.push(c)
      log(`cycle ${i + 1}: ${JSON.stringify(c)}`)
    }
    const clockEnd = await Promise.all([a, b].map((t) => t.send({ cmd: 'clock' })))
    const docs = (await a.send({ cmd: 'memory' })).docs as { docsLoaded: number }

    const cpuA = median(runs.map((r) => r.cpuMs[0]))
    const cpuB = median(runs.map((r) => r.cpuMs[1]))
    const json = {
      records,
      historyDevices,
      sell,
      docsLoaded: docs.docsLoaded,
      cycles,
      firstConnection: first,
      reconnectHelloMs: round(median(runs.map((r) => r.helloMs))),
      reconnectSyncMs: round(median(runs.map((r) => r.syncMs))),
      reconnectCpuMs: [round(cpuA), round(cpuB)],
      reconnectFramesOut: [median(runs.map((r) => r.framesOut[0])), median(runs.map((r) => r.framesOut[1]))],
      reconnectBytesOut: [median(runs.map((r) => r.bytesOut[0])), median(runs.map((r) => r.bytesOut[1]))],
      bareConnectMs: round(median(bareMs)),
      bareConnectCpuMs: bareCpu.map(round),
      idleCpuMsPerS: { down: idleDown.map(round), up: idleUp.map(round) },
      runs,
      // per till: its pid and CLOCK_MONOTONIC us [first connection start, cycles start, cycles end]
      window: [0, 1].map((i) => ({
        pid: clockStart[i]!.pid,
        us: [clockStart[i]!.monotonicUs, clockCycles[i]!.monotonicUs, clockEnd[i]!.monotonicUs],
      })),
    }
    const bareBoth = bareCpu[0]! + bareCpu[1]!
    const rows: BenchRow[] = [
      {
        metric: 'reconnection CPU, both tills (median)',
        value: round(cpuA + cpuB),
        unit: 'ms',
        baseline: { name: 'bare libp2p connection, both', value: round(bareBoth) },
      },
      {
        metric: 'reconnection: documents synced (wall, median)',
        value: json.reconnectSyncMs,
        unit: 'ms',
        baseline: { name: 'bare libp2p connection', value: json.bareConnectMs },
      },
      {
        metric: 'reconnection: hello done (wall, median)',
        value: json.reconnectHelloMs,
        unit: 'ms',
        baseline: { name: 'bare libp2p connection', value: json.bareConnectMs },
      },
      {
        metric: 'reconnection: repo frames out, each till (median)',
        value: json.reconnectFramesOut[0]!,
        unit: 'frames',
      },
      {
        metric: 'first connection CPU, both tills',
        value: round(first.cpuMs[0] + first.cpuMs[1]),
        unit: 'ms',
        baseline: { name: 'bare libp2p connection, both', value: round(bareBoth) },
      },
    ]
    return { json, rows }
  } finally {
    await Promise.all(started.map((t) => t.stop()))
    rmSync(work, { recursive: true, force: true })
    if (!keep) (fest as { cleanup?: () => void }).cleanup?.()
  }
}
