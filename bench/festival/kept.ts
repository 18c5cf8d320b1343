// What the one-till benches (bench/catch-up.ts, bench/cold-start.ts) share with the festival: reading
// `--name value` arguments, the arguments a till process takes, and a festival template kept between runs
// (`--keep DIR`: building 200k records takes minutes; a kept template is reused when it fits).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { buildFestival, type Festival } from './template.ts'

/** `arg('--records', '200000')`: the value after the flag, or the fallback. */
export function argReader(args: string[]): (name: string, fallback?: string) => string | undefined {
  return (name, fallback) => {
    const i = args.indexOf(name)
    return i >= 0 ? args[i + 1] : fallback
  }
}

export interface TillWorkload {
  tills: number
  cards: number
  seed: number
}

/** The command line of bench/festival/till-proc.ts for till `i` of `w.tills`, on data dir `dir`. */
export function tillArgs(dir: string, i: number, w: TillWorkload): string[] {
  return [
    '--data',
    dir,
    '--till',
    String(i),
    '--tills',
    String(w.tills),
    '--cards',
    String(w.cards),
    '--seed',
    String(w.seed),
  ]
}

export type KeptFestival = Omit<Festival, 'cleanup'> & { cleanup?: () => void }

/**
 * The festival template for `records` records and `tills` tills: the one kept in `keep` when it has as
 * many records, at least as many tills and its first till's dir still exists; else a new one (kept there
 * when `keep` is given, then never cleaned up).
 */
export async function keptFestival(
  keep: string | undefined,
  o: {
    tills: number
    records: number
    cards: number
    seed: number
    /** Earlier tills that wrote the history (default 10); each leaves its last page partial. */
    historyDevices?: number
    log: (line: string) => void
  },
): Promise<KeptFestival> {
  const saved = keep ? path.join(keep, 'festival.json') : undefined
  const historyDevices = o.historyDevices ?? 10
  if (saved && existsSync(saved)) {
    const f = JSON.parse(readFileSync(saved, 'utf8')) as KeptFestival & {
      records: number
      historyDevices?: number
    }
    if (
      f.records === o.records &&
      (f.historyDevices ?? 10) === historyDevices &&
      f.tills.length >= o.tills &&
      existsSync(f.tills[0]!)
    )
      return f
  }
  const f = await buildFestival({ ...o, historyDevices })
  if (!saved || !keep) return f
  mkdirSync(keep, { recursive: true })
  writeFileSync(saved, JSON.stringify({ ...f, records: o.records, historyDevices }))
  return f
}
