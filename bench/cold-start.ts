// Cold start and memory of a restarted till, alone: one till holding the festival history (bench/festival
// template, default 200,000 records) restarts `--runs` times, each an OS process from its bundle. Per run:
// spawn to ready line (ready to sell) beside a bare process started the same way, module loading, the
// phases of createVenueNode (VenueNode.startup), the first sale's acknowledgement, when the ledger views are
// back, and the till's peak RSS (VmHWM) after that. The first start (from the template's checkpoint) is
// a warm-up and not counted: it writes the till's own checkpoint and snapshot, which the restarts read.
// Run: node --import tsx bench/cold-start.ts [--records 200000] [--runs 3] [--keep DIR] [--json out.json]
//   --keep DIR: build the festival template once into DIR and reuse it on later runs.
import '../sync/polyfills.ts'
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { argReader, keptFestival, tillArgs } from './festival/kept.ts'
import { prepareBundle, spawnTill } from './festival/tills.ts'

const TILL = 'bench/festival/till-proc.ts'
const BARE = 'bench/festival/bare.ts'
const arg = argReader(process.argv.slice(2))
const records = Number(arg('--records', '200000'))
const runs = Math.max(1, Number(arg('--runs', '3')))
const keep = arg('--keep')
const seed = 1
const cards = Math.max(1, Math.round(records / 10))
const t00 = performance.now()
const log = (s: string) =>
  console.error(`[cold-start +${((performance.now() - t00) / 1000).toFixed(1)}s] ${s}`)
const round = (n: number) => Math.round(n * 100) / 100
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const fest = await keptFestival(keep, { tills: 1, records, cards, seed, log })
// Each bench run starts from the template's till (its data dir copied), so runs are alike.
const dataDir = mkdtempSync(path.join(tmpdir(), 'lakou-cold-start-'))
cpSync(fest.tills[0]!, dataDir, { recursive: true })
const args = tillArgs(dataDir, 0, { tills: 1, cards, seed })
interface Run {
  coldStartSeconds: number
  modulesSeconds: number
  readySeconds: number
  phasesMs: Record<string, number>
  firstSaleAckMs: number
  ledgerBackSeconds: number
  ledgerSource: string
  peakRssMb: number
}
const results: Run[] = []
try {
  await prepareBundle(TILL)
  await prepareBundle(BARE)
  const bare = await spawnTill(BARE, [])
  await bare.stop()
  for (let i = 0; i <= runs; i++) {
    const till = await spawnTill(TILL, args)
    const sale = await till.send({ cmd: 'sellOne', newCard: true })
    const ledger = await till.send({ cmd: 'ledgerReady' }, 600_000)
    const stats = await till.send({ cmd: 'stats' })
    await till.stop()
    const ready = till.ready as {
      importedMs: number
      readyMs: number
      startup?: { phases: Record<string, number> }
    }
    const run: Run = {
      coldStartSeconds: round(till.startMs / 1000),
      modulesSeconds: round(ready.importedMs / 1000),
      readySeconds: round(ready.readyMs / 1000),
      phasesMs: ready.startup?.phases ?? {},
      firstSaleAckMs: round(Number(sale.ackMs)),
      ledgerBackSeconds: round(Number(ledger.sinceStartMs) / 1000),
      ledgerSource: String(ledger.source),
      peakRssMb: Number(stats.rssMb),
    }
    log(`${i === 0 ? 'warm-up (template checkpoint)' : `restart ${i}`}: ${JSON.stringify(run)}`)
    if (i > 0) results.push(run)
  }
  const out = {
    records,
    runs,
    coldStartSeconds: median(results.map((r) => r.coldStartSeconds)),
    bareStartSeconds: round(bare.startMs / 1000),
    modulesSeconds: median(results.map((r) => r.modulesSeconds)),
    ledgerBackSeconds: median(results.map((r) => r.ledgerBackSeconds)),
    peakRssMb: Math.max(...results.map((r) => r.peakRssMb)),
    results,
  }
  console.log(
    `cold start (median of ${runs}) ${out.coldStartSeconds} s (bare process ${out.bareStartSeconds} s; modules ${out.modulesSeconds} s), ledger views back ${out.ledgerBackSeconds} s, restarted till peak RSS ${out.peakRssMb} MB (max)`,
  )
  const json = arg('--json')
  if (json) writeFileSync(json, JSON.stringify(out, null, 2))
} finally {
  rmSync(dataDir, { recursive: true, force: true })
  if (!keep) fest.cleanup?.()
}
