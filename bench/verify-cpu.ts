// Main-thread CPU per record of the ledger's ingest, less noisy than the verify bench's wall-clock
// ratio on a shared machine: `node --import tsx bench/verify-cpu.ts <dir> [--stub]`, where <dir> holds
// the files of `node --import tsx bench/verify.ts --generate-verify-records N <dir>`. The main thread's
// CPU comes from /proc/self/task/<pid>/schedstat (ns); `--stub` replaces each signature check by a
// resolved promise, so what remains is the ledger's own work.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createFixture, LedgerIndex } from '../ledger/mod.ts'
import { unframe } from './verify-frames.ts'

function mainThreadNs(): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0])
}

class StubbedIndex extends LedgerIndex {
  protected override startRecordVerification(): Promise<boolean> {
    return Promise.resolve(true)
  }
}

const dir = process.argv[2]
if (!dir) throw new Error('usage: verify-cpu.ts <dir> [--stub]')
const stub = process.argv.includes('--stub')
const statements = unframe(new Uint8Array(readFileSync(join(dir, 'statements.bin'))))
const records = unframe(new Uint8Array(readFileSync(join(dir, 'records.bin')))).map((r) => r.slice())
const fx = await createFixture('bench-verify', { venues: 5, signingCards: 0, tagCards: 0 })
const index = stub
  ? new StubbedIndex({ federation: fx.federation.publicKey })
  : new LedgerIndex({ federation: fx.federation.publicKey })
await index.ingestMany(statements)
const cpu0 = mainThreadNs()
const t0 = performance.now()
for (let i = 0; i < records.length; i += 1000) await index.ingestMany(records.slice(i, i + 1000))
const wall = (performance.now() - t0) / 1000
const cpuUs = (mainThreadNs() - cpu0) / 1000 / records.length
const counts = index.counts()
if (counts.valid !== records.length) throw new Error(`expected all valid: ${JSON.stringify(counts)}`)
const usage = process.resourceUsage()
console.log(
  JSON.stringify({
    records: records.length,
    stub,
    mainThreadUsPerRecord: Number(cpuUs.toFixed(1)),
    processCpuUsPerRecord: Number(((usage.userCPUTime + usage.systemCPUTime) / records.length).toFixed(1)),
    wallSeconds: Number(wall.toFixed(2)),
    maxRssMb: Math.round(usage.maxRSS / 1024),
  }),
)
