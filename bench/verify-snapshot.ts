// The local snapshot part of `npm run bench -- verify`: export the ingested index's snapshot (twice:
// the node exports every few seconds, so its code is warm after the first time) beside the SHA-256
// of the same bytes (the floor of any whole-file export), then restore it in a fresh process that
// reads the file (a cold start: its own heap, its own peak RSS) beside the ingest with verification.
import { spawnSync } from 'node:child_process'
import * as nodeCrypto from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LedgerIndex } from '../ledger/mod.ts'
import { type BenchRow, maxRssMb } from './harness.ts'

const RESTORE_FLAG = '--restore-verify-snapshot'

interface RestoreReport {
  readSeconds: number
  restoreSeconds: number
  restoreCpuSeconds: number
  maxRssMb: number
  rssBeforeMb: number
  valid: number
  invariantsOk: boolean
}

/** Wall and CPU seconds (all threads: GC helpers too, less inflated than wall time under load). */
function timed<T>(work: () => T): { value: T; seconds: number; cpuSeconds: number } {
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  const value = work()
  const cpu = process.cpuUsage(cpu0)
  return { value, seconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 }
}

const round = (n: number) => Number(n.toFixed(3))

export function measureSnapshot(index: LedgerIndex, dir: string, federation: Uint8Array, valid: number) {
  const first = timed(() => index.exportSnapshot())
  const warm = timed(() => index.exportSnapshot())
  const hash = timed(() => nodeCrypto.createHash('sha256').update(first.value).digest())
  const snapshotMb = first.value.length / 1048576
  const file = join(dir, 'ledger.snapshot')
  writeFileSync(file, first.value)
  const child = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      RESTORE_FLAG,
      file,
      Buffer.from(federation).toString('hex'),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' },
  )
  if (child.status !== 0) throw new Error(`snapshot restore failed (${child.status})`)
  const cold = JSON.parse(child.stdout.trim().split('\n').pop()!) as RestoreReport
  if (cold.valid !== valid) throw new Error('snapshot restore lost records')
  if (!cold.invariantsOk) throw new Error('restored index fails its invariants')
  const json = {
    snapshotMb: Number(snapshotMb.toFixed(1)),
    exportSeconds: round(first.seconds),
    exportCpuSeconds: round(first.cpuSeconds),
    exportWarmSeconds: round(warm.seconds),
    exportWarmCpuSeconds: round(warm.cpuSeconds),
    snapshotSha256Seconds: round(hash.seconds),
    restoreSeconds: round(cold.restoreSeconds),
    restoreCpuSeconds: round(cold.restoreCpuSeconds),
    readSnapshotSeconds: round(cold.readSeconds),
    restoreMaxRssMb: cold.maxRssMb,
    restoreRssBeforeMb: cold.rssBeforeMb,
  }
  const rows = (ingestSeconds: number, ingestRssMb: number): BenchRow[] => [
    {
      metric: 'restore from the local snapshot (fresh process)',
      value: json.restoreSeconds,
      unit: 's',
      baseline: { name: 'ingest with verification, s', value: Number(ingestSeconds.toFixed(2)) },
      target: '<= 1',
      ok: cold.restoreSeconds <= 1,
    },
    {
      metric: 'export the local snapshot',
      value: json.exportSeconds,
      unit: 's',
      baseline: { name: 'SHA-256 of the same bytes, s', value: json.snapshotSha256Seconds },
      target: '<= 0.3',
      ok: first.seconds <= 0.3,
    },
    {
      metric: 'export again (warm code, as the node runs it)',
      value: json.exportWarmSeconds,
      unit: 's',
      baseline: { name: 'SHA-256 of the same bytes, s', value: json.snapshotSha256Seconds },
      target: '<= 0.3',
      ok: warm.seconds <= 0.3,
    },
    {
      metric: 'peak RSS of the restoring process',
      value: cold.maxRssMb,
      unit: 'MB',
      baseline: { name: 'peak RSS after ingest', value: ingestRssMb },
      target: '<= 300',
      ok: cold.maxRssMb <= 300,
    },
    { metric: 'snapshot size', value: json.snapshotMb, unit: 'MB' },
  ]
  return { json, rows }
}

/** The cold start of a node: read the snapshot file, restore the index, report time and peak RSS. */
async function restoreFromFile(file: string, federationHex: string): Promise<RestoreReport> {
  const rssBeforeMb = await maxRssMb()
  const read = timed(() => new Uint8Array(readFileSync(file)))
  const federation = new Uint8Array(Buffer.from(federationHex, 'hex'))
  const restore = timed(() => LedgerIndex.fromSnapshot(read.value, { federation }))
  const rss = await maxRssMb()
  // checked after the figures (decoding every record costs time and memory)
  return {
    readSeconds: read.seconds,
    restoreSeconds: restore.seconds,
    restoreCpuSeconds: restore.cpuSeconds,
    maxRssMb: rss,
    rssBeforeMb,
    valid: restore.value.counts().valid,
    invariantsOk: restore.value.checkInvariants().ok,
  }
}

if (process.argv[2] === RESTORE_FLAG) {
  console.log(JSON.stringify(await restoreFromFile(process.argv[3]!, process.argv[4]!)))
}
