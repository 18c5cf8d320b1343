// What festival tills cost when nobody sells (issue 3: 50 idle tills at 200k records kept 0.42 of the 2 cores
// busy, under the sales, the heals and a fresh till's catch-up). N tills from a kept festival template, each
// its own OS process, are left alone and their CPU is read from /proc every second (bench/proc-cpu.ts: the
// bench sends them nothing during a window, so no command is counted). Windows, one after the other:
//   apart:  the tills started, ledgers restored, no link (the node's own timers, GC)
//   linked: the same tills linked as in the festival (seeded ring + chords, mean degree --degree): what the
//           links add (pings, chain summaries, the repo, the link-resync watch)
//   bare:   N bare Node processes started the same way (node + run-bundled): the runtime's floor
// Then what one `stats` command costs a till (the festival bench polls every till every 250 ms while it waits
// for convergence), beside the cheapest command (`clock`): K of each, the till's CPU over them minus its idle
// rate. Seconds where one till used >= 100 ms are listed (checkpoints, full GCs, sweeps).
// With --sales S: then every till sells at --rate tx/s for S seconds (no partition) and the window after the
// last sale (--after seconds) shows what the sales leave behind on idle tills (page batches and their sync,
// checkpoints), as cores busy per 10 s: what a fresh till catching up at that moment shares the cores with.
// With --final: then every till answers the festival's end-of-run `final` command (full digests of the sink
// and of the ledger views), and the window after it shows what that leaves behind (a fresh till's catch-up
// starts right after it in the festival).
// With --fresh: last, a fresh till (enrolled before the history) joins, dials three tills as in the festival
// and catches up; the others' CPU meanwhile is what it shares the two cores with.
// Run: npm run bench -- idle [--tills 10] [--records 200000] [--seconds 60] [--settle 20] [--degree 4]
//   [--polls 40] [--final] [--fresh] [--sales 0] [--rate 2] [--after 180] [--keep DIR] [--json out.json]
//   --keep DIR: the festival template is built once there and reused (hard-linked per run, left untouched).
//   LAKOU_CHILD_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" profiles every till; the JSON's `windows` give each
//   window on CLOCK_MONOTONIC (us), for `bench/profile-split.ts --from --to`.
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { keptFestival, tillArgs } from './festival/kept.ts'
import { FestivalLinks } from './festival/links.ts'
import { topology } from './festival/plan.ts'
import { linkTree } from './festival/template.ts'
import { pool, prepareBundle, spawnTill, type Till } from './festival/tills.ts'
import { argValue, type Bench, type BenchRow, numberArg } from './harness.ts'
import {
  type CpuSample,
  CpuSampler,
  coresOverTime,
  processTicks,
  TICK_MS,
  type WindowCpu,
  windowCpu,
} from './proc-cpu.ts'

const TILL = 'bench/festival/till-proc.ts'
const BARE = 'bench/festival/bare.ts'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const round = (n: number) => Math.round(n * 100) / 100
const monoUs = () => Number(process.hrtime.bigint() / 1000n)

interface Measured {
  cpu: WindowCpu
  /** Cores busy (the processes summed) per 10 s of the window. */
  cores10s: number[]
  /** CLOCK_MONOTONIC, us: the window in the tills' --cpu-prof profiles. */
  fromUs: number
  toUs: number
  load: number
}

function measured(samples: CpuSample[], fromUs: number): Measured {
  return {
    cpu: windowCpu(samples),
    cores10s: coresOverTime(samples, 10).map(round),
    fromUs,
    toUs: monoUs(),
    load: round(loadavg()[0]!),
  }
}

async function measure(pids: number[], seconds: number): Promise<Measured> {
  const sampler = new CpuSampler(pids)
  const fromUs = monoUs()
  sampler.start(1000)
  await sleep(seconds * 1000)
  return measured(sampler.stop(), fromUs)
}

/** CPU ms one command costs the till: `count` sent one after the other, minus the till's idle rate. */
async function commandCost(
  till: Till,
  cmd: Record<string, unknown>,
  count: number,
  idleMsPerS: number,
): Promise<number> {
  const pid = till.child.pid!
  const before = processTicks(pid)!
  const t0 = performance.now()
  for (let i = 0; i < count; i++) await till.send(cmd, 60_000)
  const after = processTicks(pid)!
  const s = (performance.now() - t0) / 1000
  const ms = (after.main + after.other - before.main - before.other) * TICK_MS - idleMsPerS * s
  return ms / count
}

const summary = (name: string, m: Measured) =>
  `${name}: ${round(m.cpu.meanMsPerS)} ms/s per till (main ${round(m.cpu.mainMsPerS)}, other ${round(m.cpu.otherMsPerS)}; ${round(m.cpu.cores)} cores; per till ${m.cpu.msPerS.map((x) => Math.round(x)).join(' ')}), ${round(100 * m.cpu.burstShare)}% in seconds >= 100 ms${m.cpu.bursts.length ? `: ${m.cpu.bursts.map((b) => `till ${b.proc} @${Math.round(b.atS)}s ${b.ms} ms`).join(', ')}` : ''}; load ${m.load}`

export const run: Bench = async ({ args }) => {
  const n = numberArg(args, '--tills', 10)
  const records = numberArg(args, '--records', 200_000)
  const seconds = numberArg(args, '--seconds', 60)
  const settleSeconds = numberArg(args, '--settle', 20)
  const degree = numberArg(args, '--degree', 4)
  const polls = numberArg(args, '--polls', 40)
  const salesSeconds = numberArg(args, '--sales', 0)
  const rate = numberArg(args, '--rate', 2)
  const afterSeconds = numberArg(args, '--after', 180)
  const keep = argValue(args, '--keep')
  const seed = 1
  const cards = Math.max(n, Math.round(records / 10))
  const t00 = performance.now()
  const log = (s: string) => console.error(`[idle +${((performance.now() - t00) / 1000).toFixed(1)}s] ${s}`)
  const fest = await keptFestival(keep, { tills: n, records, cards, seed, log })
  // Each run starts from the template's state: the tills write into their dirs (checkpoints, sync states).
  const work = mkdtempSync(path.join(tmpdir(), 'lakou-idle-'))
  const started: Till[] = []
  try {
    await prepareBundle(TILL)
    await prepareBundle(BARE)
    const dirs = fest.tills.slice(0, n).map((from, i) => {
      const dir = path.join(work, `till${i}`)
      linkTree(from, dir)
      return dir
    })
    const tills = await pool(dirs, 4, (dir, i) =>
      spawnTill(TILL, tillArgs(dir, i, { tills: n, cards, seed })),
    )
    started.push(...tills)
    await Promise.all(tills.map((t) => t.send({ cmd: 'ledgerReady' }, 600_000)))
    const pids = tills.map((t) => t.child.pid!)
    log(`${n} tills started, ledgers back; ${settleSeconds} s to settle`)
    await sleep(settleSeconds * 1000)
    const apart = await measure(pids, seconds)
    log(summary('apart', apart))

    const links = new FestivalLinks(tills, topology(n, degree, seed), log)
    await links.dialAll(pool)
    // the links' first document sync is over once no repo frame moved for 2 s on any till
    await Promise.all(tills.map((t) => t.send({ cmd: 'settle', quietMs: 2000, maxMs: 120_000 }, 130_000)))
    log(`linked (${links.dialFailures} dials failed); ${settleSeconds} s to settle`)
    await sleep(settleSeconds * 1000)
    const linked = await measure(pids, seconds)
    log(summary('linked', linked))

    const idle0 = linked.cpu.msPerS[0]!
    const statsMs = await commandCost(tills[0]!, { cmd: 'stats' }, polls, idle0)
    const recountMs = await commandCost(tills[0]!, { cmd: 'stats', recount: true }, polls, idle0)
    const clockMs = await commandCost(tills[0]!, { cmd: 'clock' }, polls, idle0)
    log(
      `one command to till 0: stats ${round(statsMs)} ms (with the ledger's full count ${round(recountMs)} ms), clock ${round(clockMs)} ms of CPU`,
    )

    let afterFinal: Measured | undefined
    if (args.includes('--final')) {
      const t = performance.now()
      await Promise.all(tills.map((t) => t.send({ cmd: 'final' }, 300_000)))
      log(`final answered by every till in ${round((performance.now() - t) / 1000)} s`)
      afterFinal = await measure(pids, seconds)
      log(summary('after final', afterFinal))
      log(`after final, cores per 10 s: ${afterFinal.cores10s.join(' ')}`)
    }

    let afterSales: Measured | undefined
    if (salesSeconds > 0) {
      await Promise.all(tills.map((t) => t.send({ cmd: 'sell', perSecond: rate })))
      await sleep(salesSeconds * 1000)
      await Promise.all(tills.map((t) => t.send({ cmd: 'sell' })))
      afterSales = await measure(pids, afterSeconds)
      log(summary('after sales', afterSales))
      log(`after sales, cores per 10 s: ${afterSales.cores10s.join(' ')}`)
    }

    let beside: Measured | undefined
    let catchUpSeconds: number | undefined
    if (args.includes('--fresh')) {
      const freshDir = path.join(work, 'fresh')
      linkTree(fest.fresh, freshDir)
      const sampler = new CpuSampler(pids)
      const fromUs = monoUs()
      sampler.start(1000)
      const t0 = performance.now()
      const fresh = await spawnTill(TILL, tillArgs(freshDir, n, { tills: n, cards, seed }))
      started.push(fresh)
      const neighbours = [...new Set([0, Math.floor(n / 3), Math.floor((2 * n) / 3)])]
      await Promise.all(
        neighbours.map((i) =>
          fresh
            .send({ cmd: 'dial', addr: tills[i]!.addresses[0], peerId: tills[i]!.peerId }, 60_000)
            .catch((e) => log(`fresh till: dial to till ${i} failed: ${(e as Error).message}`)),
        ),
      )
      const reference = await tills[0]!.send({ cmd: 'digest' })
      for (;;) {
        const d = await fresh.send({ cmd: 'digest' }, 120_000)
        if (d.digest === reference.digest && d.complete) {
          if ((await fresh.send({ cmd: 'stats' }, 120_000)).pending === 0) break
        }
        if (performance.now() - t0 > 600_000) throw new Error('the fresh till did not catch up in 600 s')
        await sleep(500)
      }
      catchUpSeconds = (performance.now() - t0) / 1000
      beside = measured(sampler.stop(), fromUs)
      log(`fresh till caught up in ${round(catchUpSeconds)} s; ${summary('the others meanwhile', beside)}`)
      log(`the others while it caught up, cores per 10 s: ${beside.cores10s.join(' ')}`)
    }

    const bare = await pool(
      tills.map(() => 0),
      4,
      () => spawnTill(BARE, []),
    )
    started.push(...bare)
    const bareWindow = await measure(
      bare.map((b) => b.child.pid!),
      Math.min(seconds, 10),
    )
    log(summary('bare', bareWindow))
    for (const b of bare) b.child.stdin!.write('x\n')

    const json = {
      tills: n,
      records,
      seconds,
      idleMsPerSPerTill: round(linked.cpu.meanMsPerS),
      idleCoresAt50Tills: round((50 * linked.cpu.meanMsPerS) / 1000),
      apartMsPerSPerTill: round(apart.cpu.meanMsPerS),
      bareMsPerSPerProcess: round(bareWindow.cpu.meanMsPerS),
      afterFinalMsPerSPerTill: afterFinal ? round(afterFinal.cpu.meanMsPerS) : undefined,
      afterSalesMsPerSPerTill: afterSales ? round(afterSales.cpu.meanMsPerS) : undefined,
      catchUpSeconds: catchUpSeconds === undefined ? undefined : round(catchUpSeconds),
      besideCatchUpMsPerSPerTill: beside ? round(beside.cpu.meanMsPerS) : undefined,
      statsCommandMs: round(statsMs),
      statsRecountCommandMs: round(recountMs),
      clockCommandMs: round(clockMs),
      windows: Object.fromEntries(
        Object.entries({ apart, linked, afterFinal, afterSales, besideCatchUp: beside, bare: bareWindow })
          .filter((e): e is [string, Measured] => e[1] !== undefined)
          .map(([k, m]) => [
            k,
            {
              fromUs: m.fromUs,
              toUs: m.toUs,
              load: m.load,
              cores10s: m.cores10s,
              ...m.cpu,
              msPerS: m.cpu.msPerS.map(round),
            },
          ]),
      ),
    }
    const rows: BenchRow[] = [
      {
        metric: 'idle CPU per till, linked',
        value: json.idleMsPerSPerTill,
        unit: 'ms/s',
        baseline: { name: 'same tills, no link', value: json.apartMsPerSPerTill },
      },
      {
        metric: 'idle CPU per till, no link',
        value: json.apartMsPerSPerTill,
        unit: 'ms/s',
        baseline: { name: 'bare node process', value: json.bareMsPerSPerProcess },
      },
      {
        metric: 'CPU of one stats command',
        value: json.statsCommandMs,
        unit: 'ms',
        baseline: { name: 'clock command', value: json.clockCommandMs },
      },
      {
        metric: 'CPU of one stats command, ledger fully counted (before)',
        value: json.statsRecountCommandMs,
        unit: 'ms',
        baseline: { name: 'clock command', value: json.clockCommandMs },
      },
    ]
    return { json, rows }
  } finally {
    await Promise.all(started.map((t) => t.stop().catch(() => {})))
    rmSync(work, { recursive: true, force: true })
  }
}
