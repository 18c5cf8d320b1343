// Main-thread CPU per record of the ledger's ingest, less noisy than the verify bench's wall-clock
// ratio on a shared machine: `node --import tsx bench/verify-cpu.ts <dir> [--stub]`, where <dir> holds
// the files of `node --import tsx bench/verify.ts --generate-verify-records N <dir>`; `--concurrency N`
// sets the verifications in flight. The main thread's
// CPU comes from /proc/self/task/<pid>/schedstat (ns); `--stub` replaces each signature check by a
// resolved promise, so what remains is the ledger's own work.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createFixture, LedgerIndex } from '../ledger/mod.ts'
import { unframe } from './verify-frames.ts'

function threadNs(tid: string): number {
  try {
    return Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0])
  } catch {
    return 0 // the thread ended
  }
}

/** ns the main thread was runnable but waiting for a core (schedstat's second field). */
function mainThreadWaitNs(): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[1])
}

function mainThreadNs(): number {
  return threadNs(String(process.pid))
}

/** CPU ns of every thread of this process (main thread, V8 platform workers, libuv's pool). */
function threadsNs(): Map<string, number> {
  const out = new Map<string, number>()
  for (const tid of readdirSync('/proc/self/task')) out.set(tid, threadNs(tid))
  return out
}

type Verification = Parameters<LedgerIndex['startRecordVerification']>
class StubbedIndex extends LedgerIndex {
  protected override startRecordVerification(
    _: Verification[0],
    entry: Verification[1],
    settle: Verification[2],
  ): true {
    Promise.resolve(entry).then((e) => settle(e, true))
    return true
  }
}

const dir = process.argv[2]
if (!dir) throw new Error('usage: verify-cpu.ts <dir> [--stub]')
const stub = process.argv.includes('--stub')
// verifications in flight (the index's default is 64)
const at = process.argv.indexOf('--concurrency')
const concurrency = at > 0 ? Number(process.argv[at + 1]) : undefined
const statements = unframe(new Uint8Array(readFileSync(join(dir, 'statements.bin'))))
const records = unframe(new Uint8Array(readFileSync(join(dir, 'records.bin')))).map((r) => r.slice())
const fx = await createFixture('bench-verify', { venues: 5, signingCards: 0, tagCards: 0 })
const index = stub
  ? new StubbedIndex({ federation: fx.federation.publicKey, concurrency })
  : new LedgerIndex({ federation: fx.federation.publicKey, concurrency })
await index.ingestMany(statements)
const cpu0 = mainThreadNs()
const wait0 = mainThreadWaitNs()
const threads0 = threadsNs()
const process0 = process.cpuUsage()
const t0 = performance.now()
for (let i = 0; i < records.length; i += 1000) await index.ingestMany(records.slice(i, i + 1000))
const wall = (performance.now() - t0) / 1000
const cpuUs = (mainThreadNs() - cpu0) / 1000 / records.length
const mainWaitS = (mainThreadWaitNs() - wait0) / 1e9
const processUs = process.cpuUsage(process0)
const processCpuS = (processUs.user + processUs.system) / 1e6
// other threads' CPU during the ingest, busiest first (the libuv pool verifies, V8's workers run GC)
const others: number[] = []
for (const [tid, ns] of threadsNs())
  if (tid !== String(process.pid)) others.push((ns - (threads0.get(tid) ?? 0)) / 1e9)
others.sort((a, b) => b - a)
const counts = index.counts()
if (counts.valid !== records.length) throw new Error(`expected all valid: ${JSON.stringify(counts)}`)
const usage = process.resourceUsage()
console.log(
  JSON.stringify({
    records: records.length,
    stub,
    mainThreadUsPerRecord: Number(cpuUs.toFixed(1)),
    processCpuUsPerRecord: Number(((processCpuS * 1e6) / records.length).toFixed(1)),
    wallSeconds: Number(wall.toFixed(2)),
    // cores busy on average during the ingest (2 = both cores of this machine all the time)
    coresBusy: Number((processCpuS / wall).toFixed(2)),
    // share of the ingest's wall time the main thread was ready to run but had no core (the pool's
    // threads or other processes held both)
    mainThreadRunqueueShare: Number((mainWaitS / wall).toFixed(3)),
    otherThreadsCpuSeconds: others.filter((s) => s >= 0.01).map((s) => Number(s.toFixed(2))),
    maxRssMb: Math.round(usage.maxRSS / 1024),
  }),
)
