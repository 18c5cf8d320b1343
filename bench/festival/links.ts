// The festival's links between tills: the first dials (the bench introduces tills to each other, as mDNS
// would on a venue LAN), and the partitions' cuts and heals. A cut blocks the link at both ends' transport
// (sync/net LakouNetwork.blockPeer: nothing is dialled, nothing passes); a heal lifts it, and the tills find
// each other again by themselves (sync/net/reconnect.ts): the bench only waits until both ends have passed
// the handshake again, and dials itself only if a link is not back after LINK_WAIT_MS (counted apart).
import { cutEdges, type Edge } from './plan.ts'
import type { Till } from './tills.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/**
 * How long (of each till's own time, sync/net deadline()) a healed link may take to come back by itself
 * before the bench dials it. 20 s until session 7: tills whose loops stall 5-14 s at a heal were dialled by
 * the bench while their own redials were on the way, and the figure said less about the nodes. A link not
 * back after LINK_LOG_MS is logged (both ends' link state) and waited for.
 */
const LINK_WAIT_MS = 60_000
const LINK_LOG_MS = 20_000

export class FestivalLinks {
  /** First dials retried after a failure (the bench's own dials). */
  dialRetries = 0
  dialFailures = 0
  /** Healed links that did not come back by themselves in LINK_WAIT_MS, dialled by the bench. */
  healFallbackDials = 0
  /** Healed links that never came back. */
  healFailures = 0
  /** Per healed link: ms from lifting the cut to both ends past the handshake again. */
  readonly healLinkMs: number[] = []
  /** Per healed link, where its time went (ms after the unblock, the tills' own clocks). */
  readonly healPhases: HealPhases[] = []
  private readonly cutCount = new Map<string, number>()
  private readonly running = new Set<Promise<void>>()

  constructor(
    private readonly tills: Till[],
    private readonly edges: Edge[],
    private readonly log: (line: string) => void,
  ) {}

  /** The bench's own dial of a link, retried twice after `retryWaitMs`. */
  async dial([a, b]: Edge, retryWaitMs: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.tills[a]!.send(
          { cmd: 'dial', addr: this.tills[b]!.addresses[0], peerId: this.tills[b]!.peerId },
          30_000,
        )
        return
      } catch (e) {
        if (attempt >= 3) throw e
        this.dialRetries++
        this.log(`dial ${a}-${b} failed (${(e as Error).message}); retrying in ${retryWaitMs / 1000} s`)
        for (const i of [a, b]) this.log(`  till ${i} log tail: ${lastLines(this.tills[i]!.stderr(), 4)}`)
        await sleep(retryWaitMs)
      }
    }
  }

  /** The first links, 8 dials at a time. A first-contact hello that timed out puts the dialler in the
   * peer's 30 s handshake cooldown (it was never certified there): the retry waits it out. */
  async dialAll(pool: <T>(items: T[], n: number, fn: (item: T) => Promise<void>) => Promise<unknown>) {
    await pool(this.edges, 8, (e) =>
      this.dial(e, 31_000).catch((err) => {
        this.dialFailures++
        this.log(`link ${e[0]}-${e[1]} not made: ${(err as Error).message}`)
      }),
    )
  }

  /** Cuts the links between `group` and the others (several cuts may overlap: each link counts them). */
  async cut(group: number[]): Promise<void> {
    await Promise.all(
      cutEdges(this.edges, group).map(async (e) => {
        const c = this.cutCount.get(key(e)) ?? 0
        this.cutCount.set(key(e), c + 1)
        if (c > 0) return
        const [a, b] = [this.tills[e[0]]!, this.tills[e[1]]!]
        await Promise.all([
          a.send({ cmd: 'block', peerIds: [b.peerId] }),
          b.send({ cmd: 'block', peerIds: [a.peerId] }),
        ])
      }),
    )
  }

  /**
   * Lifts the cut of `group`; resolves when its links are back (or given up). The cut counts are updated
   * before the first await, so heals started together see each other's counts.
   */
  heal(group: number[]): Promise<void> {
    const done = Promise.all(
      cutEdges(this.edges, group).map((e) => {
        const c = (this.cutCount.get(key(e)) ?? 0) - 1
        this.cutCount.set(key(e), c)
        return c > 0 ? undefined : this.healLink(e)
      }),
    ).then(() => {})
    this.running.add(done)
    void done.finally(() => this.running.delete(done))
    return done
  }

  /** Heals still waiting for their links (a heal during the sales runs while the schedule goes on). */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running)
  }

  private async healLink(e: Edge): Promise<void> {
    const [a, b] = [this.tills[e[0]]!, this.tills[e[1]]!]
    const t0 = performance.now()
    await Promise.all([
      a.send({ cmd: 'unblock', peerIds: [b.peerId] }),
      b.send({ cmd: 'unblock', peerIds: [a.peerId] }),
    ])
    const linked = async (timeoutMs: number) =>
      await Promise.all([
        a.send({ cmd: 'linked', peerId: b.peerId, timeoutMs }, 600_000),
        b.send({ cmd: 'linked', peerId: a.peerId, timeoutMs }, 600_000),
      ])
    const byItself = async () => {
      try {
        return await linked(LINK_LOG_MS)
      } catch (err) {
        if (this.isCut(e)) throw err
        this.log(
          `link ${e[0]}-${e[1]} not back after ${LINK_LOG_MS / 1000} s (${(err as Error).message}); waiting`,
        )
        await this.logLinkState(e)
        return await linked(LINK_WAIT_MS - LINK_LOG_MS)
      }
    }
    try {
      const ends = await byItself()
      this.healPhases.push(phasesOf(ends))
    } catch (err) {
      if (this.isCut(e)) return // cut again meanwhile: nothing to wait for
      this.healFallbackDials++
      this.log(`link ${e[0]}-${e[1]} not back by itself (${(err as Error).message}); the bench dials it`)
      await this.logLinkState(e)
      try {
        // No handshake cooldown between certified tills after a timeout: a short wait is enough.
        await this.dial(e, 2_000)
        await linked(LINK_LOG_MS)
      } catch (err2) {
        if (this.isCut(e)) return
        this.healFailures++
        this.log(`link ${e[0]}-${e[1]} not healed: ${(err2 as Error).message}`)
        return
      }
    }
    if (!this.isCut(e)) this.healLinkMs.push(performance.now() - t0)
  }

  /** Where each end of a link stands (connections, handshake, redials), one line per end. */
  private async logLinkState([a, b]: Edge): Promise<void> {
    for (const [i, j] of [
      [a, b],
      [b, a],
    ] as const) {
      const peerId = this.tills[j]!.peerId
      try {
        const states = await this.tills[i]!.send({ cmd: 'linkState', peerIds: [peerId] }, 30_000)
        const stalls = (states.stalls as Array<{ agoMs: number; ms: number }> | undefined) ?? []
        const recent = stalls.filter((x) => x.agoMs < 60_000)
        this.log(
          `  till ${i} -> ${j}: ${describeLink(states[peerId] as LinkStateView)}; loop stalls > 1 s in the last minute: ${recent.length ? recent.map((x) => `${(x.ms / 1000).toFixed(1)}s ${(x.agoMs / 1000).toFixed(0)}s ago`).join(', ') : 'none'}`,
        )
      } catch (err) {
        this.log(`  till ${i} -> ${j}: no link state (${(err as Error).message})`)
      }
    }
  }

  private isCut(e: Edge): boolean {
    return (this.cutCount.get(key(e)) ?? 0) > 0
  }
}

const key = ([a, b]: Edge) => `${a}-${b}`

/** A healed link's time: redial wait (unblock to the dial that made it), dial (TCP, noise, yamux), hello. */
export interface HealPhases {
  waitMs: number
  dialMs: number
  helloMs: number
  totalMs: number
  /** Redials of this absence by the end that dialled (1 = the first after the cut). */
  attempt: number
}

function phasesOf(ends: Array<Record<string, unknown>>): HealPhases {
  const totalMs = Math.max(...ends.map((e) => Number(e.authenticatedMs ?? 0)))
  // The end whose redial succeeded (no error) and started first made the link.
  const dials = ends
    .filter((e) => e.redialStartMs !== undefined && e.redialError === undefined)
    .sort((x, y) => Number(x.redialStartMs) - Number(y.redialStartMs))
  const d = dials[0]
  if (!d) return { waitMs: totalMs, dialMs: 0, helloMs: 0, totalMs, attempt: 0 }
  const start = Number(d.redialStartMs)
  const end = Number(d.redialEndMs)
  return {
    waitMs: start,
    dialMs: end - start,
    helloMs: totalMs - end,
    totalMs,
    attempt: Number(d.redialAttempt),
  }
}

/** Median and max of each phase, one line. */
export function summarizeHeals(phases: HealPhases[]): string {
  if (phases.length === 0) return 'no healed link'
  const stat = (f: (p: HealPhases) => number) => {
    const xs = phases.map(f).sort((a, b) => a - b)
    return `${(xs[Math.floor(xs.length / 2)]! / 1000).toFixed(2)}/${(xs[xs.length - 1]! / 1000).toFixed(2)} s`
  }
  const byPeer = phases.filter((p) => p.attempt === 0).length
  return `median/max: total ${stat((p) => p.totalMs)}, redial wait ${stat((p) => p.waitMs)}, dial ${stat((p) => p.dialMs)}, hello ${stat((p) => p.helloMs)}; ${byPeer} of ${phases.length} links made by no reconnector dial (libp2p keep-alive queue)`
}

/** The last `n` lines of a log, on one line (a till's stderr when a dial fails). */
function lastLines(text: string, n: number): string {
  return text.trim().split('\n').slice(-n).join(' | ') || '(empty)'
}

/** The JSON of sync/net LinkState as a till sends it. */
interface LinkStateView {
  connections: Array<{ direction: string; status: string; ageMs: number; streams: string[] }>
  handshake: {
    authenticated: boolean
    certifiedBefore: boolean
    helloInFlight?: string
    waiters: number
    cooldownMs: number
  }
  blocked: boolean
  away?: { awayMs: number; attempts: number; dialing: boolean; scheduled: boolean }
  lastRedial?: { startedAt: number; endedAt?: number; error?: string; attempt: number }
}

/** One line: connections (direction/status/age/streams), handshake, redialling. */
export function describeLink(s: LinkStateView | undefined): string {
  if (!s) return '(no state)'
  const conns = s.connections.map(
    (c) => `${c.direction}/${c.status}/${(c.ageMs / 1000).toFixed(1)}s[${c.streams.join(',')}]`,
  )
  const h = s.handshake
  const parts = [
    `conns ${conns.length ? conns.join(' ') : 'none'}`,
    `auth ${h.authenticated} cert ${h.certifiedBefore} hello ${h.helloInFlight ?? '-'} waiters ${h.waiters}${h.cooldownMs ? ` cooldown ${h.cooldownMs} ms` : ''}`,
    s.blocked ? 'BLOCKED' : '',
    s.away
      ? `away ${(s.away.awayMs / 1000).toFixed(1)}s attempts ${s.away.attempts}${s.away.dialing ? ' dialing' : ''}${s.away.scheduled ? ' scheduled' : ''}`
      : 'not away',
    s.lastRedial
      ? `last redial #${s.lastRedial.attempt} ${s.lastRedial.endedAt === undefined ? 'in flight' : `${((s.lastRedial.endedAt - s.lastRedial.startedAt) / 1000).toFixed(1)}s`} ${((Date.now() - s.lastRedial.startedAt) / 1000).toFixed(1)}s ago${s.lastRedial.error ? ` error ${s.lastRedial.error.slice(0, 120)}` : ''}`
      : 'no redial',
  ]
  return parts.filter(Boolean).join('; ')
}
