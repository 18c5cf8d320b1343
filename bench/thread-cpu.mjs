// Thread CPU of festival tills, sampled from outside: how many CPU seconds the tills' main threads and their
// other threads (libuv's pool, V8's workers) used over the sales minute, apart from the heal that the
// festival's own "CPU per live record" figure includes.
//   node bench/thread-cpu.mjs sample <out.jsonl> [cmdline regex]   every 2 s until killed (run it beside the bench)
//   node bench/thread-cpu.mjs window <out.jsonl> <festival log>    the sales minute and the heal after it
// The festival log needs FESTIVAL_LOG_MONOTONIC=1 (its [mono] stamps and the samples share the clock).
import { appendFileSync, readdirSync, readFileSync } from 'node:fs'

const [mode, out, third] = process.argv.slice(2)

function sample(pattern) {
  const by = {}
  let procs = 0
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    let cmd
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    } catch {
      continue
    }
    if (!pattern.test(cmd)) continue
    procs++
    let tids = []
    try {
      tids = readdirSync(`/proc/${pid}/task`)
    } catch {}
    for (const tid of tids) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
        const key = tid === pid ? 'main' : 'other'
        by[key] = (by[key] ?? 0) + Number(fields[11]) + Number(fields[12]) // utime + stime, clock ticks
      } catch {}
    }
  }
  const line = { mono: Number(process.hrtime.bigint() / 1000n), procs, by }
  appendFileSync(out, `${JSON.stringify(line)}\n`)
}

if (mode === 'sample') {
  const pattern = new RegExp(third ?? 'run-bundled.mjs.bench/festival/till-proc')
  sample(pattern)
  setInterval(() => sample(pattern), 2000)
} else if (mode === 'window') {
  const log = readFileSync(third, 'latin1').split('\n')
  const mono = (re) => Number(log.find((l) => re.test(l))?.match(/mono (\d+)/)?.[1])
  const salesFrom = mono(/\] partitions:/)
  const salesTo = salesFrom + 60e6
  const converged = mono(/live CPU:/)
  const tills = Number(log.find((l) => / tills \(processes/.test(l))?.match(/(\d+) tills/)?.[1])
  const sales = Number(log.find((l) => /live: \d+ sales/.test(l))?.match(/live: (\d+) sales/)?.[1])
  const rows = readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  const at = (t) => rows.reduce((a, b) => (Math.abs(b.mono - t) < Math.abs(a.mono - t) ? b : a))
  const span = (a, b) => {
    const s = (k) => ((b.by[k] ?? 0) - (a.by[k] ?? 0)) / 100
    const seconds = (b.mono - a.mono) / 1e6
    return { seconds, main: s('main'), other: s('other') }
  }
  const [a, b, c] = [at(salesFrom), at(salesTo), at(converged)]
  const live = span(a, b)
  const heal = span(b, c)
  const cores = (x) => ((x.main + x.other) / x.seconds).toFixed(2)
  console.log(
    `sales ${live.seconds.toFixed(1)} s: ${cores(live)} cores (main ${(live.main / live.seconds).toFixed(2)}, other ${(live.other / live.seconds).toFixed(2)}); ` +
      `${((1000 * (live.main + live.other)) / (sales * tills)).toFixed(3)} ms per sale per till (${sales} sales, ${tills} tills)`,
  )
  console.log(
    `heal ${heal.seconds.toFixed(1)} s: ${cores(heal)} cores (main ${heal.main.toFixed(1)} s, other ${heal.other.toFixed(1)} s)`,
  )
} else console.error('usage: thread-cpu.mjs sample <out.jsonl> [regex] | window <out.jsonl> <festival log>')
