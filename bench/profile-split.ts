// Splits the main-thread samples of till CPU profiles (`--cpu-prof`) by cause: the hello handshake, the
// automerge-repo document sync, the record push and chain gossip, the libp2p transport, GC. Tills run from
// an esbuild bundle: a sample's module is found from the `// <path>` comment esbuild writes before each
// module. A sample goes to the deepest frame on its stack whose module names a cause (so the noise
// encryption of a repo message counts as document sync); what no cause owns goes to the transport when a
// libp2p frame is on the stack (reads: decrypt and demux before any protocol sees the bytes), else `other`.
// Run: node --import tsx bench/profile-split.ts [--from US --to US] FILE.cpuprofile...
//   --from/--to: a CLOCK_MONOTONIC window in us (bench/reconnect.ts prints each till's in its JSON `window`).
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
}
interface ProfileNode {
  id: number
  callFrame: CallFrame
  children?: number[]
}
interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  samples: number[]
  timeDeltas: number[]
}

export type Cause = 'hello' | 'doc sync' | 'push + gossip' | 'transport' | 'gc' | 'idle' | 'other'

const CAUSES: Array<[RegExp, Cause]> = [
  [/sync\/net\/(access|ed25519)\.ts|sync\/node\/credentials\.ts|ledger\/cert/, 'hello'],
  [
    /@automerge\/automerge|sync\/net\/(libp2p-network-adapter|share-policy)\.ts|sync\/node\/page-fetch-policy|sync\/docs\/(durable-storage|layout|index-feed)\.ts/,
    'doc sync',
  ],
  [/sync\/docs\/push(-outbox)?\.ts|sync\/node\/(push-protocol|chain-gossip)\.ts/, 'push + gossip'],
]
const TRANSPORT = /@libp2p\/|@chainsafe\/|node_modules\/libp2p\/|it-[a-z-]+\/|uint8arraylist|@multiformats/

/** Module path of each line of a bundle, from esbuild's `// path` comments (sorted by line). */
function moduleLines(file: string): Array<[number, string]> {
  const out: Array<[number, string]> = []
  const lines = readFileSync(file, 'utf8').split('\n')
  for (let i = 0; i < lines.length; i++) {
    // relative to the build's root; a symlinked node_modules shows up as its real path (../../x/node_modules)
    const m = /^\/\/ (\S+\.(?:[cm]?js|ts))$/.exec(lines[i]!)
    if (m) out.push([i, m[1]!])
  }
  return out
}

const bundles = new Map<string, Array<[number, string]>>()
function moduleOf(frame: CallFrame): string {
  if (!frame.url.endsWith('.mjs') || !frame.url.includes('/dist/bundles/')) return frame.url
  let lines = bundles.get(frame.url)
  if (!lines) {
    lines = moduleLines(fileURLToPath(frame.url))
    bundles.set(frame.url, lines)
  }
  let lo = 0
  let hi = lines.length - 1
  let found = ''
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (lines[mid]![0] <= frame.lineNumber) {
      found = lines[mid]![1]
      lo = mid + 1
    } else hi = mid - 1
  }
  return found
}

/** ms of main-thread samples per cause within [fromUs, toUs]; `top` gets ms per leaf module of a cause. */
export function splitProfile(
  profile: CpuProfile,
  fromUs = -Infinity,
  toUs = Infinity,
  top?: { cause: Cause; modules: Map<string, number> },
): Record<Cause, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const memo = new Map<number, Cause>()
  const causeOf = (id: number): Cause => {
    const known = memo.get(id)
    if (known) return known
    const leaf = byId.get(id)!.callFrame.functionName
    let cause: Cause | undefined =
      leaf === '(garbage collector)' ? 'gc' : leaf === '(idle)' ? 'idle' : undefined
    let transport = false
    for (let at: number | undefined = id; cause === undefined && at !== undefined; at = parent.get(at)) {
      const mod = moduleOf(byId.get(at)!.callFrame)
      const hit = CAUSES.find(([re]) => re.test(mod))
      if (hit) cause = hit[1]
      else if (TRANSPORT.test(mod)) transport = true
    }
    const result = cause ?? (transport ? 'transport' : 'other')
    memo.set(id, result)
    return result
  }
  const out: Record<Cause, number> = {
    hello: 0,
    'doc sync': 0,
    'push + gossip': 0,
    transport: 0,
    gc: 0,
    idle: 0,
    other: 0,
  }
  let t = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0
    t += dt
    if (t < fromUs || t > toUs) continue
    const cause = causeOf(profile.samples[i]!)
    out[cause] += dt / 1000
    if (top?.cause === cause) {
      const f = byId.get(profile.samples[i]!)!.callFrame
      const key = `${moduleOf(f)} ${f.functionName}`
      top.modules.set(key, (top.modules.get(key) ?? 0) + dt / 1000)
    }
  }
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2)
  const take = (name: string) => {
    const i = args.indexOf(name)
    if (i < 0) return undefined
    const v = Number(args[i + 1])
    args.splice(i, 2)
    return v
  }
  const from = take('--from')
  const to = take('--to')
  // --top CAUSE: also list the leaf functions where that cause's time went
  const topAt = args.indexOf('--top')
  const top =
    topAt >= 0 ? { cause: args.splice(topAt, 2)[1] as Cause, modules: new Map<string, number>() } : undefined
  for (const file of args) {
    const split = splitProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, from, to, top)
    const busy = Object.entries(split).filter(([k]) => k !== 'idle')
    const total = busy.reduce((s, [, v]) => s + v, 0)
    const parts = busy.map(([k, v]) => `${k} ${v.toFixed(0)} ms (${((100 * v) / total).toFixed(1)}%)`)
    console.log(`${file}: busy ${total.toFixed(0)} ms: ${parts.join(', ')}`)
  }
  if (top) {
    const rows = [...top.modules].sort((a, b) => b[1] - a[1]).slice(0, 25)
    for (const [k, v] of rows) console.log(`  ${v.toFixed(1)} ms  ${k}`)
  }
}
