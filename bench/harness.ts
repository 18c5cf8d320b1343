// Shared shape of every benchmark: machine-readable JSON (the fields an issue names) plus a readable
// table where each figure stands beside a baseline measured in the same run, as a ratio.

export interface BenchRow {
  /** What is measured, e.g. "ingest records/s". */
  metric: string
  value: number
  unit: string
  /** The baseline measured in the same run (omit only for figures that have no meaningful baseline). */
  baseline?: { name: string; value: number }
  /** Human-readable target, e.g. ">= 0.8". */
  target?: string
  ok?: boolean
}

export interface BenchResult {
  /** Flat JSON written with --json, with exactly the fields the issue asks for. */
  json: Record<string, unknown>
  rows: BenchRow[]
}

export interface BenchOptions {
  /** Extra CLI arguments after the bench name (e.g. --records 2000 for a quick run). */
  args: string[]
}

export type Bench = (options: BenchOptions) => Promise<BenchResult>

export function argValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}

export function numberArg(args: string[], name: string, fallback: number): number {
  const v = argValue(args, name)
  if (v === undefined) return fallback
  const n = Number(v)
  if (!Number.isFinite(n)) throw new Error(`${name} expects a number, got ${v}`)
  return n
}

const fmt = (n: number) =>
  Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 3 })

export function formatTable(name: string, rows: BenchRow[]): string {
  const header = ['metric', 'value', 'baseline', 'ratio', 'target', 'ok']
  const body = rows.map((r) => [
    r.metric,
    `${fmt(r.value)} ${r.unit}`,
    r.baseline ? `${fmt(r.baseline.value)} (${r.baseline.name})` : '-',
    r.baseline && r.baseline.value !== 0 ? fmt(r.value / r.baseline.value) : '-',
    r.target ?? '-',
    r.ok === undefined ? '-' : r.ok ? 'yes' : 'NO',
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)))
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')
  return [
    `bench ${name}`,
    line(header),
    widths.map((w) => '-'.repeat(w)).join('-|-'),
    ...body.map(line),
  ].join('\n')
}

/** Peak resident set size of this process so far, in MB (Linux VmHWM). */
export async function maxRssMb(): Promise<number> {
  const { readFileSync } = await import('node:fs')
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))
  return m ? Math.round(Number(m[1]) / 1024) : Math.round(process.memoryUsage().rss / 1048576)
}
