// A token bucket per peer: `burst` frames at once, refilled at `perSecond`. automerge-repo sends up to ~10
// sync messages per second per document and peer, so an honest catch-up of hundreds of pages reaches a few
// thousand frames per second: the defaults leave room for that; a peer that keeps exceeding them floods.
export interface RateLimit {
  perSecond: number
  burst: number
}

export const DEFAULT_RATE_LIMIT: RateLimit = { perSecond: 5_000, burst: 20_000 }

export class TokenBucket {
  private tokens: number
  private last: number

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = limit.burst
    this.last = now()
  }

  /** Takes one token; false when the bucket is empty. */
  take(): boolean {
    const t = this.now()
    this.tokens = Math.min(this.limit.burst, this.tokens + ((t - this.last) / 1000) * this.limit.perSecond)
    this.last = t
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}
