// Certified peers come back by themselves. When every connection to a peer that passed the handshake is
// gone (a cut network, a missed ping on a loaded till, the peer restarting), the node redials it on a short,
// jittered, capped backoff, and keeps trying: a venue's Wi-Fi that comes back after a minute finds its tills
// reconnecting within a couple of seconds, not after libp2p's own doubling backoff (1, 2, 4 ... 128 s, then
// it gives up and untags the peer). A peer dropped for misbehaving is no longer certified: not redialled.
// Of two peers that lost each other, the one with the smaller peer id dials first and the other a little
// later, so they usually end up with one connection rather than one each way.

export interface RedialPolicy {
  /** First delay after the loss (then doubling). */
  firstDelayMs: number
  /** Longest delay while the peer has been away less than `patienceMs`. */
  maxDelayMs: number
  /** Extra delay of the peer with the larger id. */
  followerDelayMs: number
  /** After this long away, the delay grows to `slowDelayMs` (a till switched off for the night). */
  patienceMs: number
  slowDelayMs: number
}

export const DEFAULT_REDIAL_POLICY: RedialPolicy = {
  firstDelayMs: 250,
  maxDelayMs: 2_000,
  followerDelayMs: 1_000,
  patienceMs: 10 * 60_000,
  slowDelayMs: 30_000,
}

/** The wait before redial number `attempt` (0 = the first), jittered to 50-100 % of its backoff. */
export function redialDelay(
  attempt: number,
  awayMs: number,
  leads: boolean,
  policy: RedialPolicy,
  random: () => number,
): number {
  const cap = awayMs >= policy.patienceMs ? policy.slowDelayMs : policy.maxDelayMs
  const backoff = Math.min(cap, policy.firstDelayMs * 2 ** Math.min(attempt, 30))
  return backoff * (0.5 + random() / 2) + (leads ? 0 : policy.followerDelayMs)
}

/** What the reconnector needs of the host and of the handshake (libp2p and PeerAccess in the node). */
export interface RedialHost {
  localPeerId: string
  isConnected(peerId: string): boolean
  dial(peerId: string): Promise<void>
  isCertified(peerId: string): boolean
  /** Subscriptions; each returns its unsubscribe. */
  onDisconnected(fn: (peerId: string) => void): () => void
  onAuthenticated(fn: (peerId: string) => void): () => void
}

export interface ReconnectorOptions {
  policy?: Partial<RedialPolicy>
  random?: () => number
  now?: () => number
  setTimer?: (fn: () => void, ms: number) => unknown
  clearTimer?: (handle: unknown) => void
  log?: (line: string) => void
}

/** The last redial of a peer (for benches and diagnostics): when it started and ended (the `now` clock). */
export interface RedialRecord {
  startedAt: number
  endedAt?: number
  /** Why it failed ('blocked', 'unreachable: ...'); absent when it opened a connection. */
  error?: string
  /** Redials of this absence so far (1 = the first). */
  attempt: number
}

/** A peer being redialled now (for diagnostics: the festival's links that do not come back). */
export interface AwayState {
  /** ms since the loss (the `now` clock). */
  awayMs: number
  /** Redials of this absence so far. */
  attempts: number
  /** A dial is in flight. */
  dialing: boolean
  /** A redial is scheduled. */
  scheduled: boolean
}

interface Away {
  since: number
  attempts: number
  timer?: unknown
  dialing: boolean
}

export class Reconnector {
  private readonly away = new Map<string, Away>()
  private readonly last = new Map<string, RedialRecord>()
  private readonly policy: RedialPolicy
  private readonly random: () => number
  private readonly now: () => number
  private readonly setTimer: (fn: () => void, ms: number) => unknown
  private readonly clearTimer: (handle: unknown) => void
  private offs: Array<() => void> = []
  /** Redials that opened a connection (a stat for benches and the status UI). */
  redials = 0

  constructor(
    private readonly host: RedialHost,
    options: ReconnectorOptions = {},
  ) {
    this.policy = { ...DEFAULT_REDIAL_POLICY, ...options.policy }
    this.random = options.random ?? Math.random
    this.now = options.now ?? Date.now
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms))
    this.clearTimer = options.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>))
  }

  start(): void {
    this.offs = [
      this.host.onDisconnected((peerId) => this.lost(peerId)),
      this.host.onAuthenticated((peerId) => this.back(peerId)),
    ]
  }

  stop(): void {
    for (const off of this.offs) off()
    this.offs = []
    for (const a of this.away.values()) if (a.timer !== undefined) this.clearTimer(a.timer)
    this.away.clear()
  }

  /** The last redial of this peer, if any. */
  lastRedial(peerId: string): RedialRecord | undefined {
    return this.last.get(peerId)
  }

  /** Where the redialling of this peer stands; undefined: not away (connected, or never certified). */
  awayState(peerId: string): AwayState | undefined {
    const a = this.away.get(peerId)
    if (!a) return undefined
    return {
      awayMs: this.now() - a.since,
      attempts: a.attempts,
      dialing: a.dialing,
      scheduled: a.timer !== undefined,
    }
  }

  /** Peers being redialled now. */
  awayPeers(): string[] {
    return [...this.away.keys()]
  }

  private lost(peerId: string): void {
    if (!this.host.isCertified(peerId) || this.host.isConnected(peerId)) return
    let a = this.away.get(peerId)
    if (!a) {
      a = { since: this.now(), attempts: 0, dialing: false }
      this.away.set(peerId, a)
    }
    if (a.timer === undefined && !a.dialing) this.schedule(peerId, a)
  }

  private back(peerId: string): void {
    const a = this.away.get(peerId)
    if (!a) return
    if (a.timer !== undefined) this.clearTimer(a.timer)
    this.away.delete(peerId)
  }

  private schedule(peerId: string, a: Away): void {
    const leads = this.host.localPeerId < peerId
    const wait = redialDelay(a.attempts, this.now() - a.since, leads, this.policy, this.random)
    a.timer = this.setTimer(() => {
      a.timer = undefined
      void this.attempt(peerId, a)
    }, wait)
  }

  private async attempt(peerId: string, a: Away): Promise<void> {
    if (this.away.get(peerId) !== a) return
    // Dropped for misbehaving meanwhile: forget it.
    if (!this.host.isCertified(peerId)) {
      this.away.delete(peerId)
      return
    }
    // Back by the peer's own dial: its handshake decides (a failed one disconnects and calls lost() again,
    // and the backoff goes on from here: a peer whose hellos keep failing is not redialled in a tight loop).
    if (this.host.isConnected(peerId)) return
    a.attempts++
    a.dialing = true
    const record: RedialRecord = { startedAt: this.now(), attempt: a.attempts }
    this.last.set(peerId, record)
    try {
      await this.host.dial(peerId)
      this.redials++
    } catch (err) {
      // refused by a cut, unreachable, timed out: try again later
      record.error = String((err as Error)?.message ?? err)
    } finally {
      a.dialing = false
      record.endedAt = this.now()
    }
    if (this.away.get(peerId) !== a) return
    // Connected: the handshake decides (back() once it passes; a failed one disconnects: lost()).
    if (!this.host.isConnected(peerId)) this.schedule(peerId, a)
  }
}
