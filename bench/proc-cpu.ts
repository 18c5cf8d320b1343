// CPU of other processes read from outside (Linux /proc), so measuring a till costs the till nothing: no
// command to answer, no reply line. Per process, its main thread apart from its other threads (libuv's pool,
// V8's GC and compiler threads). Used by bench/idle.ts.
import { readdirSync, readFileSync } from 'node:fs'

/** Linux reports utime and stime in clock ticks of 10 ms (USER_HZ = 100 on every mainstream kernel). */
export const TICK_MS = 10

/** CPU ticks (user + system) of a process: its main thread and its other threads. */
export interface ProcessTicks {
  main: number
  other: number
}

/**
 * utime + stime of one /proc/<pid>/task/<tid>/stat line, in ticks. The command name (field 2) is in
 * parentheses and may hold spaces or parentheses itself: fields are counted after the last ')'.
 */
export function statTicks(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const utime = Number(fields[11])
  const stime = Number(fields[12])
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`not a /proc stat line: ${stat}`)
  return utime + stime
}

/** The process's ticks now, or undefined once it is gone. Threads that end between reads are skipped. */
export function processTicks(pid: number): ProcessTicks | undefined {
  let tids: string[]
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return undefined
  }
  const t = { main: 0, other: 0 }
  for (const tid of tids) {
    let stat: string
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
    } catch {
      continue
    }
    if (Number(tid) === pid) t.main += statTicks(stat)
    else t.other += statTicks(stat)
  }
  return t
}

/** One reading of every measured process, `atMs` on the reader's monotonic clock. */
export interface CpuSample {
  atMs: number
  procs: Array<ProcessTicks | undefined>
}

/** A second in which one process used at least the burst threshold of CPU (a checkpoint, a full GC...). */
export interface Burst {
  proc: number
  /** Seconds after the window's start. */
  atS: number
  ms: number
}

export interface WindowCpu {
  seconds: number
  /** CPU ms per second of each process over the window (main + other threads). */
  msPerS: number[]
  /** Mean over the processes, and its split between main and other threads. */
  meanMsPerS: number
  mainMsPerS: number
  otherMsPerS: number
  /** The processes' summed CPU as cores busy. */
  cores: number
  /** Sample intervals where one process used >= burstMs per second, largest first (at most 20). */
  bursts: Burst[]
  /** Share of all the window's CPU spent inside those bursts. */
  burstShare: number
}

/**
 * CPU per process over a run of samples (the first and last bound the window). A process missing from a
 * sample (exited) counts only up to its last reading.
 */
export function windowCpu(samples: CpuSample[], burstMsPerS = 100): WindowCpu {
  if (samples.length < 2) throw new Error('a window needs at least two samples')
  const first = samples[0]!
  const last = samples.at(-1)!
  const seconds = (last.atMs - first.atMs) / 1000
  const n = first.procs.length
  const msPerS: number[] = []
  let main = 0
  let other = 0
  let burstTicks = 0
  let allTicks = 0
  const bursts: Burst[] = []
  for (let p = 0; p < n; p++) {
    const start = first.procs[p]
    const end = samples.findLast((s) => s.procs[p] !== undefined)?.procs[p]
    if (!start || !end) {
      msPerS.push(0)
      continue
    }
    main += end.main - start.main
    other += end.other - start.other
    msPerS.push(((end.main + end.other - start.main - start.other) * TICK_MS) / seconds)
    for (let i = 1; i < samples.length; i++) {
      const a = samples[i - 1]!.procs[p]
      const b = samples[i]!.procs[p]
      if (!a || !b) continue
      const ticks = b.main + b.other - a.main - a.other
      const dt = (samples[i]!.atMs - samples[i - 1]!.atMs) / 1000
      allTicks += ticks
      if ((ticks * TICK_MS) / dt >= burstMsPerS) {
        burstTicks += ticks
        bursts.push({ proc: p, atS: (samples[i - 1]!.atMs - first.atMs) / 1000, ms: ticks * TICK_MS })
      }
    }
  }
  bursts.sort((a, b) => b.ms - a.ms)
  const per = (ticks: number) => (n === 0 ? 0 : (ticks * TICK_MS) / seconds / n)
  return {
    seconds,
    msPerS,
    meanMsPerS: per(main + other),
    mainMsPerS: per(main),
    otherMsPerS: per(other),
    cores: ((main + other) * TICK_MS) / seconds / 1000,
    bursts: bursts.slice(0, 20),
    burstShare: allTicks === 0 ? 0 : burstTicks / allTicks,
  }
}

/** Cores busy (all processes summed) in consecutive buckets of `bucketS` seconds: where a window's CPU went. */
export function coresOverTime(samples: CpuSample[], bucketS: number): number[] {
  const first = samples[0]
  if (!first) return []
  const total = (s: CpuSample) =>
    s.procs.reduce((sum, p, i) => (p && first.procs[i] ? sum + p.main + p.other : sum), 0)
  const out: number[] = []
  let from = first
  for (const s of samples) {
    if (s.atMs - from.atMs < bucketS * 1000 && s !== samples.at(-1)) continue
    if (s.atMs > from.atMs) out.push(((total(s) - total(from)) * TICK_MS) / (s.atMs - from.atMs))
    from = s
  }
  return out
}

/** Reads every pid each `everyMs` until stopped; the samples are the window. */
export class CpuSampler {
  readonly samples: CpuSample[] = []
  readonly #pids: number[]
  #timer: ReturnType<typeof setInterval> | undefined

  constructor(pids: number[]) {
    this.#pids = pids
  }

  sample(): void {
    this.samples.push({ atMs: performance.now(), procs: this.#pids.map(processTicks) })
  }

  start(everyMs = 1000): void {
    this.sample()
    this.#timer = setInterval(() => this.sample(), everyMs)
  }

  stop(): CpuSample[] {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
    this.sample()
    return this.samples
  }
}
