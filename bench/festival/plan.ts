// The festival's network, seeded: which tills are linked (a ring plus random chords, like tills that found
// each other on the LAN) and which groups are cut off when (random partitions of 10-30 s during the sales).
import { prng } from './workload.ts'

export type Edge = [number, number]

/** Ring i -> i+1 (so the graph is connected), then random chords until the mean degree reaches `degree`. */
export function topology(tills: number, degree: number, seed: number): Edge[] {
  const key = (a: number, b: number) => (a < b ? `${a}-${b}` : `${b}-${a}`)
  const edges = new Map<string, Edge>()
  if (tills < 2) return []
  for (let i = 0; i < tills; i++) {
    const j = (i + 1) % tills
    if (i !== j) edges.set(key(i, j), [Math.min(i, j), Math.max(i, j)])
  }
  const random = prng(seed ^ 0x5eed)
  const target = Math.min((tills * (tills - 1)) / 2, Math.ceil((tills * degree) / 2))
  while (edges.size < target) {
    const a = Math.floor(random() * tills)
    const b = Math.floor(random() * tills)
    if (a !== b) edges.set(key(a, b), [Math.min(a, b), Math.max(a, b)])
  }
  return [...edges.values()]
}

export interface Partition {
  /** Seconds from the start of the sales. */
  start: number
  end: number
  /** Tills cut off from all the others (they still reach each other). */
  group: number[]
}

/** About one cut every 8 s, each a group of 2..max(2, tills/5) tills for 10-30 s, clipped to the sales. */
export function partitions(tills: number, seconds: number, seed: number): Partition[] {
  const random = prng(seed ^ 0xcafe)
  const out: Partition[] = []
  const count = Math.max(1, Math.round(seconds / 8))
  const maxGroup = Math.max(2, Math.floor(tills / 5))
  for (let k = 0; k < count && tills >= 3; k++) {
    const start = Math.floor(random() * Math.max(1, seconds - 10))
    const length = 10 + Math.floor(random() * 21)
    const size = 2 + Math.floor(random() * (maxGroup - 1))
    const group = new Set<number>()
    while (group.size < Math.min(size, tills - 1)) group.add(Math.floor(random() * tills))
    out.push({ start, end: Math.min(seconds, start + length), group: [...group].sort((a, b) => a - b) })
  }
  return out.sort((a, b) => a.start - b.start)
}

/** The links a partition cuts: edges with exactly one end in the group. */
export const cutEdges = (edges: Edge[], group: number[]): Edge[] =>
  edges.filter(([a, b]) => group.includes(a) !== group.includes(b))
