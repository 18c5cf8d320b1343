// A budget per peer, in frames and in bytes: token buckets refilled continuously. automerge-repo sends up to
// ~10 sync messages per second per document and peer, so an honest catch-up of hundreds of pages reaches a
// few thousand frames per second: the frame defaults leave room for that. Frames alone do not bound the cost:
// a peer sending a few frames just under the maximum frame size would pass them, so bytes are budgeted too.
// The default byte rate is far above what a till produces (a full 1,000-record ledger page is ~0.3 MB) and
// above what Automerge applies: a fresh repo catching up on 1,000-change pages over this adapter read
// ~2.2 MB/s (2 shared cores, loaded), and the read loop applies messages as it reads them. So only a peer
// pushing bulk that needs no work (garbage, ignored types) reaches it.
export interface RateLimit {
  /** Frames per second, sustained. */
  perSecond: number
  /** Frames at once. */
  burst: number
  /** Bytes per second, sustained (default 16 MiB/s). */
  bytesPerSecond?: number
  /** Bytes at once (default 32 MiB); never less than the maximum frame size, or one legal frame would flood. */
  burstBytes?: number
}

export const DEFAULT_RATE_LIMIT: Required<RateLimit> = {
  perSecond: 5_000,
  burst: 20_000,
  bytesPerSecond: 16 * 1024 * 1024,
  burstBytes: 32 * 1024 * 1024,
}

export class TokenBucket {
  private tokens: number
  private last: number

  constructor(
    private readonly limit: { perSecond: number; burst: number },
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = limit.burst
    this.last = now()
  }

  /** Takes `cost` tokens (default one); false, taking nothing, when fewer are left. */
  take(cost = 1): boolean {
    const t = this.now()
    this.tokens = Math.min(this.limit.burst, this.tokens + ((t - this.last) / 1000) * this.limit.perSecond)
    this.last = t
    if (this.tokens < cost) return false
    this.tokens -= cost
    return true
  }
}

/** One peer's frame and byte budgets. `admit` names the budget a frame exceeds, or returns undefined. */
export class PeerBudget {
  private readonly frames: TokenBucket
  private readonly bytes: TokenBucket
  readonly limit: Required<RateLimit>

  constructor(limit: RateLimit, maxFrameBytes: number, now?: () => number) {
    const burstBytes = Math.max(limit.burstBytes ?? DEFAULT_RATE_LIMIT.burstBytes, maxFrameBytes)
    this.limit = {
      perSecond: limit.perSecond,
      burst: limit.burst,
      bytesPerSecond: limit.bytesPerSecond ?? DEFAULT_RATE_LIMIT.bytesPerSecond,
      burstBytes,
    }
    this.frames = new TokenBucket(this.limit, now)
    this.bytes = new TokenBucket({ perSecond: this.limit.bytesPerSecond, burst: burstBytes }, now)
  }

  admit(frameBytes: number): 'frames' | 'bytes' | undefined {
    if (!this.frames.take()) return 'frames'
    if (!this.bytes.take(frameBytes)) return 'bytes'
    return undefined
  }
}
