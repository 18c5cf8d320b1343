// Where a till's memory is (issue 3): V8 heap (used / committed, per space), external and ArrayBuffer
// memory, automerge's WebAssembly linear memory, and the documents the repo holds. Node does not expose
// the WASM memory (automerge keeps its instance private): V8 reserves 8-10 GiB of address space per memory
// and maps the used part read-write at its start, so the read-write mapping right before a >= 4 GiB
// inaccessible one in /proc/self/smaps is the WASM memory (its Size is the memory's current byteLength,
// its Rss what of it is resident). Linux only; undefined elsewhere.
import { readFileSync } from 'node:fs'
import v8 from 'node:v8'

const MB = 1048576
const round = (bytes: number) => Math.round((bytes / MB) * 10) / 10

export interface WasmMemory {
  sizeMb: number
  rssMb: number
}

/** The WASM linear memories of this process (automerge's is the large one), from /proc/self/smaps. */
export function wasmMemories(smaps = readSmaps()): WasmMemory[] {
  const maps = parseSmaps(smaps)
  const out: WasmMemory[] = []
  for (let i = 1; i < maps.length; i++) {
    const m = maps[i]!
    const prev = maps[i - 1]!
    if (
      m.perms === '---p' &&
      m.end - m.start >= 4 * 1024 * MB &&
      prev.end === m.start &&
      prev.perms === 'rw-p'
    )
      out.push({ sizeMb: round(prev.sizeKb * 1024), rssMb: round(prev.rssKb * 1024) })
  }
  return out
}

interface Mapping {
  start: number
  end: number
  perms: string
  sizeKb: number
  rssKb: number
}

export function parseSmaps(text: string): Mapping[] {
  const maps: Mapping[] = []
  let cur: Mapping | undefined
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) /.exec(line)
    if (head) {
      cur = {
        start: Number.parseInt(head[1]!, 16),
        end: Number.parseInt(head[2]!, 16),
        perms: head[3]!,
        sizeKb: 0,
        rssKb: 0,
      }
      maps.push(cur)
    } else if (cur && line.startsWith('Size:')) cur.sizeKb = Number(line.split(/\s+/)[1])
    else if (cur && line.startsWith('Rss:')) cur.rssKb = Number(line.split(/\s+/)[1])
  }
  return maps
}

function readSmaps(): string {
  try {
    return readFileSync('/proc/self/smaps', 'utf8')
  } catch {
    return ''
  }
}

function procStatusKb(field: string): number | undefined {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'))
    return m ? Number(m[1]) : undefined
  } catch {
    return undefined
  }
}

export interface MemoryBreakdown {
  rssMb: number
  peakRssMb: number | undefined
  heapUsedMb: number
  heapTotalMb: number
  externalMb: number
  arrayBuffersMb: number
  wasmMb: number | undefined
  wasmRssMb: number | undefined
  /** Committed and used MB per V8 heap space (new_space is the young generation's semi-spaces). */
  spaces: Record<string, { sizeMb: number; usedMb: number }>
}

export function memoryBreakdown(): MemoryBreakdown {
  const u = process.memoryUsage()
  const wasm = wasmMemories()
  const spaces: MemoryBreakdown['spaces'] = {}
  for (const s of v8.getHeapSpaceStatistics())
    spaces[s.space_name] = { sizeMb: round(s.space_size), usedMb: round(s.space_used_size) }
  const hwm = procStatusKb('VmHWM')
  return {
    rssMb: round(u.rss),
    peakRssMb: hwm === undefined ? undefined : round(hwm * 1024),
    heapUsedMb: round(u.heapUsed),
    heapTotalMb: round(u.heapTotal),
    externalMb: round(u.external),
    arrayBuffersMb: round(u.arrayBuffers),
    wasmMb: wasm.length ? Math.max(...wasm.map((w) => w.sizeMb)) : undefined,
    wasmRssMb: wasm.length ? Math.max(...wasm.map((w) => w.rssMb)) : undefined,
    spaces,
  }
}

/**
 * Samples the breakdown every `everyMs` and keeps, per field, its largest value and the breakdown at the
 * moment RSS was largest (what set the peak). For benches: reading smaps costs ~1-3 ms.
 */
export class MemorySampler {
  readonly #timer: NodeJS.Timeout
  #atPeak: (MemoryBreakdown & { atMs: number; extra?: Record<string, number> }) | undefined
  readonly #max: Record<string, number> = {}

  constructor(
    everyMs: number,
    readonly extra: () => Record<string, number> = () => ({}),
  ) {
    this.#timer = setInterval(() => this.sample(), everyMs)
    this.#timer.unref()
  }

  sample(): MemoryBreakdown {
    const b = memoryBreakdown()
    const extra = this.extra()
    const flat: Record<string, number | undefined> = { ...b, ...extra, spaces: undefined }
    for (const [k, v] of Object.entries(flat))
      if (typeof v === 'number') this.#max[k] = Math.max(this.#max[k] ?? 0, v)
    if (!this.#atPeak || b.rssMb >= this.#atPeak.rssMb)
      this.#atPeak = { ...b, atMs: Math.round(performance.now()), extra }
    return b
  }

  report(): { now: MemoryBreakdown; max: Record<string, number>; atPeakRss: unknown } {
    const now = this.sample()
    return { now, max: { ...this.#max }, atPeakRss: this.#atPeak }
  }

  stop(): void {
    clearInterval(this.#timer)
  }
}
