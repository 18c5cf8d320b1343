// Catch-up of a fresh till, alone: one till holding the festival history (bench/festival template) and one
// fresh till enrolled before it, each its own OS process; the fresh till dials the other, syncs and validates
// everything itself. Prints the catch-up seconds (until its sync index and ledger match the serving till's),
// both tills' peak RSS, and a bare LedgerIndex ingest of the same history (the baseline, from the template).
// Run: node --import tsx bench/catch-up.ts [--records 200000] [--servers 1] [--keep DIR] [--json out.json]
//   [--bare no]: skip the bare ingest of the same history in this process after the run (the baseline)
//   --keep DIR: build the festival template once into DIR and reuse it on later runs (the fresh till's data
//   dir is copied from it every run, so each run starts from nothing).
//   --servers N: N tills hold the history and the fresh till dials them all (the festival's dials three).
// LAKOU_CHILD_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles both tills.
import '../sync/polyfills.ts'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import * as A from '@automerge/automerge'
import type { StorageKey } from '@automerge/automerge-repo'
import { LedgerIndex } from '../ledger/mod.ts'
import { DurableFsStorageAdapter } from '../sync/docs/durable-storage.ts'
import { classifyDoc } from '../sync/docs/schema.ts'
import { dataPaths } from '../sync/node/config.ts'
import { argReader, keptFestival, tillArgs } from './festival/kept.ts'
import { prepareBundle, spawnTill, type Till } from './festival/tills.ts'

const TILL = 'bench/festival/till-proc.ts'
const arg = argReader(process.argv.slice(2))
const records = Number(arg('--records', '200000'))
const keep = arg('--keep')
// Tills holding the history that the fresh till dials (the festival's fresh till dials three).
const servers = Number(arg('--servers', '1'))
const seed = 1
const cards = Math.max(1, Math.round(records / 10))
const t00 = performance.now()
const log = (s: string) => console.error(`[catch-up +${((performance.now() - t00) / 1000).toFixed(1)}s] ${s}`)
const round = (n: number) => Math.round(n * 100) / 100
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// CPU time and time spent runnable but waiting for a core (Linux schedstat, ns), of a process's main thread
// and of its other threads (the verify pool, V8's helpers, a page worker): is the main thread short of a
// core behind its own pool threads? Undefined where /proc is not there.
function threadTimes(pid: number | undefined) {
  if (!pid) return undefined
  try {
    const t = { mainRunS: 0, mainWaitS: 0, otherRunS: 0, otherWaitS: 0, threads: 0 }
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number)
      if (Number(tid) === pid) {
        t.mainRunS = round(run! / 1e9)
        t.mainWaitS = round(wait! / 1e9)
      } else {
        t.otherRunS += run! / 1e9
        t.otherWaitS += wait! / 1e9
      }
      t.threads++
    }
    t.otherRunS = round(t.otherRunS)
    t.otherWaitS = round(t.otherWaitS)
    return t
  } catch {
    return undefined
  }
}

// The baseline in the same run (the template's was measured when it was built, minutes or hours earlier):
// a bare LedgerIndex in this process ingests the serving till's history, statements then records in the
// order the fresh till gets them (page n of every device before page n + 1). Documents are read and
// loaded before the clock starts.
async function bareIngest(dataDir: string, federationKeyHex: string) {
  const storage = new DurableFsStorageAdapter(dataPaths(dataDir).automerge)
  const chunks = new Map<string, Array<{ key: StorageKey; data: Uint8Array }>>()
  for (const c of await storage.loadRange([])) {
    if (!c.data || (c.key[1] !== 'snapshot' && c.key[1] !== 'incremental')) continue
    const list = chunks.get(c.key[0]!) ?? []
    list.push({ key: c.key, data: c.data })
    chunks.set(c.key[0]!, list)
  }
  const statements: Uint8Array[] = []
  const pages: Array<{ page: number; deviceId: string; records: Uint8Array[] }> = []
  for (const list of chunks.values()) {
    list.sort((a, b) => (a.key[1] === b.key[1] ? 0 : a.key[1] === 'snapshot' ? -1 : 1))
    let doc = A.init<Record<string, unknown>>()
    for (const c of list) doc = A.loadIncremental(doc, c.data)
    const cls = classifyDoc(doc)
    const items = (doc.records ?? doc.entries ?? []) as unknown[]
    const bytes = items.filter((x): x is Uint8Array => x instanceof Uint8Array).map((x) => x.slice())
    if (cls?.kind === 'ledger-page') pages.push({ page: cls.page, deviceId: cls.deviceId, records: bytes })
    else if (cls?.kind === 'federation' || cls?.kind === 'venue') statements.push(...bytes)
    A.free(doc)
  }
  pages.sort((a, b) => a.page - b.page || (a.deviceId < b.deviceId ? -1 : 1))
  const records = pages.flatMap((p) => p.records)
  const ledger = new LedgerIndex({ federation: [new Uint8Array(Buffer.from(federationKeyHex, 'hex'))] })
  const cpu0 = process.cpuUsage()
  const t = performance.now()
  await ledger.ingestMany(statements)
  await ledger.ingestMany(records)
  const seconds = (performance.now() - t) / 1000
  const cpu = process.cpuUsage(cpu0)
  const c = ledger.counts()
  if (c.valid !== records.length || c.pending !== 0) throw new Error(`bare ingest: ${JSON.stringify(c)}`)
  return { seconds: round(seconds), cpuS: round((cpu.user + cpu.system) / 1e6), records: records.length }
}

const fest = await keptFestival(keep, { tills: servers, records, cards, seed, log })
const argsOf = (dir: string, i: number) => tillArgs(dir, i, { tills: 1, cards, seed })
const freshDir = mkdtempSync(path.join(tmpdir(), 'lakou-catch-up-'))
cpSync(fest.fresh, freshDir, { recursive: true })
const started: Till[] = []
try {
  await prepareBundle(TILL)
  const serving: Till[] = []
  for (let i = 0; i < servers; i++) {
    const t = await spawnTill(TILL, argsOf(fest.tills[i]!, i))
    started.push(t)
    serving.push(t)
    await t.send({ cmd: 'ledgerReady' }, 600_000)
  }
  const server = serving[0]!
  const reference = await server.send({ cmd: 'stats' })
  log(`serving till ready: ${reference.size} items, RSS ${reference.rssMb} MB`)

  // Serving CPU is counted from here: a till's cpuMs includes its own start (ledger restore or rebuild).
  const cpuBefore = await Promise.all(
    serving.map(async (t) => Number((await t.send({ cmd: 'stats' })).cpuMs)),
  )
  const t0 = performance.now()
  const fresh = await spawnTill(TILL, argsOf(freshDir, servers))
  started.push(fresh)
  await Promise.all(
    serving.map((t) => fresh.send({ cmd: 'dial', addr: t.addresses[0], peerId: t.peerId }, 30_000)),
  )
  let last = 0
  for (;;) {
    const s = await fresh.send({ cmd: 'stats' }, 120_000)
    if (s.digest === reference.digest && s.complete && s.pending === 0) break
    const now = performance.now()
    if (now - last > 5000) {
      log(
        `fresh: ${s.size}/${reference.size} items, valid ${s.valid}, pending ${s.pending}, RSS ${s.rssMb} MB`,
      )
      last = now
    }
    if (now - t0 > 600_000) throw new Error(`catch-up stalled at ${s.size}/${reference.size}`)
    await sleep(500)
  }
  const catchUpSeconds = (performance.now() - t0) / 1000
  // since the fresh till's start (it started at t0): its threads' CPU and waits for a core
  const freshThreads = threadTimes(fresh.child.pid)
  const [freshFinal, serverFinal] = await Promise.all([
    fresh.send({ cmd: 'final' }, 300_000),
    server.send({ cmd: 'final' }, 300_000),
  ])
  const balances = (f: Record<string, unknown>) => (f.balances as { digest: string }).digest
  const identical = freshFinal.digest === serverFinal.digest && balances(freshFinal) === balances(serverFinal)
  const freshStats = await fresh.send({ cmd: 'stats' })
  const serverStats = await Promise.all(serving.map((t) => t.send({ cmd: 'stats' })))
  const result = {
    records,
    catchUpSeconds: round(catchUpSeconds),
    ledgerIngestSeconds: round(fest.ledgerIngestSeconds),
    identical,
    freshPeakRssMb: freshStats.rssMb,
    servers,
    servingPeakRssMb: Math.max(...serverStats.map((x) => Number(x.rssMb))),
    servingCpuMs: serverStats.map((x, i) => Number(x.cpuMs) - cpuBefore[i]!),
    freshCpuMs: freshStats.cpuMs,
    freshThreads,
    loadAverage: loadavg().map(round),
  }
  // after the tills stop (nothing else of this bench running), unless --no-bare
  await Promise.all(started.map((t) => t.stop()))
  log(`catch-up: ${JSON.stringify(result)}`)
  if (arg('--bare', 'yes') !== 'no') {
    try {
      const bare = await bareIngest(fest.tills[0]!, fest.federationKey)
      Object.assign(result, { bareIngest: bare, ratio: round(catchUpSeconds / bare.seconds) })
      log(`bare ledger ingest, same run: ${bare.seconds} s (${bare.cpuS} s CPU) for ${bare.records} records`)
    } catch (e) {
      log(`bare ledger ingest failed: ${(e as Error).message}`)
    }
  }
  console.log(JSON.stringify(result))
  const out = arg('--json')
  if (out) writeFileSync(out, JSON.stringify(result, null, 2))
  if (!identical) process.exitCode = 1
} finally {
  await Promise.all(started.map((t) => t.stop()))
  rmSync(freshDir, { recursive: true, force: true })
  if (!keep) (fest as { cleanup?: () => void }).cleanup?.()
}
