// The direct record push, alongside the CRDT sync. automerge-repo sends at most one sync message per
// document per peer every 100 ms (hard-coded throttle), so a record appended right after another waits up
// to 100 ms for the CRDT. Right after a record is in the page doc (and already on disk in the chain log),
// the writer also sends its bytes straight to every connected, authenticated peer over a small protocol of
// its own (see sync/node/push-protocol.ts); receivers validate it into their index at once. The push is a
// latency hint only: the bytes are untrusted input validated like any record, the page doc still brings the
// same record through the CRDT (deduplicated by hash), and a lost or forged push changes nothing durable.
// Forwarding: a node that newly applies a pushed record (first time it sees it, and it validated) sends it
// on to its other authenticated peers, never back to the sender. Each node forwards a record at most once,
// so a record crosses each link at most twice and reaches every till of a connected venue in a few hops
// within milliseconds, with no per-record Automerge change synced over every link (that, one change per
// record through the CRDT, saturated the festival's tills). The pages still follow, in batches, as the
// durable and catch-up path (relays, tills that are never online together, partitions that heal).
// Forwarded records leave in small batches per peer (push-outbox.ts), and a copy a peer sent us first is not
// sent back to it; a copy already held is recognised by its last signature before any decode or verify.
// Anti-entropy (with `chains`): on connect and every `summaryEveryMs`, peers exchange per-device chain
// summaries (length and top hash of each device chain, small) and each sends the records the other lacks
// that it still holds in memory; so records cut off by a partition cross as soon as the link is back,
// without waiting for the page docs, which can then be written rarely (the CRDT leaves the live path).
// The same channel carries "have" announcements (record count per page) for the per-document status.
// (Not automerge-repo ephemeral messages: the repo re-broadcasts them under the original sender's id, which
// sync/net's adapter rightly treats as a spoofed sender.)
import type { DocumentId } from '@automerge/automerge-repo/slim'
import { cbor } from '@automerge/automerge-repo/slim'
import type { IndexFeed, IngestOutcome } from './index-feed.ts'
import { Outbox, type PushItem, RecentBytes, recordKey } from './push-outbox.ts'
import { PAGE_CAPACITY } from './schema.ts'
import { stamp } from './stage-trace.ts'
import type { DocStatusBoard } from './status.ts'

const MAX_HAVE_ENTRIES = 100_000
/** Records per 'recs' frame (a record is a few hundred bytes; frames stay far below 256 KiB). */
const ITEMS_PER_FRAME = 256
/** Records sent in answer to one summary (the rest waits for the next summary, or the pages). */
const MAX_RESEND = 4096

/** Moves opaque messages to and from directly connected peers. */
export interface PushTransport {
  /** Sends to every connected, authenticated peer (but `except`). */
  broadcast(message: Uint8Array, except?: string): void
  /** Sends to one peer. */
  sendTo(peerId: string, message: Uint8Array): void
  onMessage(fn: (peerId: string, message: Uint8Array) => void): () => void
  /** Reports a peer that sent something malformed (the transport may drop it). */
  misbehaved(peerId: string, reason: string): void
  /** The peers a broadcast reaches now (with it, forwarded records are batched per peer). */
  peers?(): string[]
}

/** One device chain as a summary names it: device (hex), length, hash (hex) of its record at that length. */
export type ChainEntry = [device: string, length: number, top: string]

/** What this node holds per device chain, and the recent records' bytes (sync/node: chain-gossip.ts). */
export interface ChainSource {
  summary(): ChainEntry[]
  /**
   * Records this node holds in memory that a peer with `theirs` lacks, oldest first per chain, at most
   * `max`; those it learned less than `settledMs` ago are left out (their push is still on its way).
   */
  missing(theirs: Map<string, [number, string]>, max: number, settledMs: number): Uint8Array[]
}

export interface RecordPushOptions {
  /** Anti-entropy source; without it no summaries are exchanged. */
  chains?: ChainSource
  /** Summaries to every peer this often (default 15 s; 0: only on connect). */
  summaryEveryMs?: number
  /** Forwarded records wait this long to share a frame (default 200 ms; 0: each leaves at once). */
  batchMs?: number
}

export class RecordPush {
  readonly #feed: IndexFeed
  readonly #board: DocStatusBoard
  readonly #transport: PushTransport
  readonly #chains: ChainSource | undefined
  readonly #off: () => void
  // Positions of pages held through pushes beyond the page's contiguous indexed count (out-of-order pushes).
  readonly #ahead = new Map<DocumentId, Set<number>>()
  // Records already validated here (applied or duplicate), by key: a copy is dropped before any decode.
  readonly #held = new RecentBytes(8192)
  // Copies being validated now, by key: a second copy waits for the first one's verdict (then validated
  // itself unless the first was valid).
  readonly #inFlight = new Map<string, Promise<IngestOutcome>>()
  readonly #outbox: Outbox | undefined
  readonly #answered = new Map<string, number>()
  readonly #later = new Map<
    string,
    { chains: ChainEntry[]; hello: boolean; timer: ReturnType<typeof setTimeout> }
  >()
  #stopped = false
  readonly #timer: ReturnType<typeof setInterval> | undefined
  /** Counts of pushes received / ignored as malformed (tests and metrics). */
  readonly stats = {
    received: 0,
    malformed: 0,
    forwarded: 0,
    /** Copies dropped before validation: already held here. */
    dropped: 0,
    /** Records sent because a peer's summary lacked them. */
    resent: 0,
    summaries: 0,
  }

  constructor(
    feed: IndexFeed,
    board: DocStatusBoard,
    transport: PushTransport,
    options: RecordPushOptions = {},
  ) {
    this.#feed = feed
    this.#board = board
    this.#transport = transport
    this.#chains = options.chains
    // 200 ms (100 in session 4, 50 before): each frame costs a CBOR encode, a yamux frame, a noise
    // encryption and a socket write here, and the same to read there, whatever it holds. A till sends a
    // forward frame per peer per interval while sales flow, so the frames per second stay the same at any
    // rate and halve with the interval. Own records still leave at once; each hop adds up to this delay.
    const batchMs = options.batchMs ?? 200
    if (batchMs > 0 && transport.peers)
      this.#outbox = new Outbox(batchMs, (peer, items) => this.#sendItems(peer, items))
    const every = options.summaryEveryMs ?? 15_000
    if (this.#chains && every > 0) {
      this.#timer = setInterval(() => this.#summarize(undefined, false), every)
      this.#timer.unref?.()
    }
    this.#off = transport.onMessage((peer, m) => this.#receive(peer, m))
  }

  get suppressed(): number {
    return this.#outbox?.suppressed ?? 0
  }

  /**
   * Sends a record this device just stored to every connected peer, at once. The records waiting in a
   * peer's forward batch leave in the same frame (one frame per peer, not two).
   */
  send(page: DocumentId, index: number, bytes: Uint8Array): void {
    this.#held.add(recordKey(bytes))
    if (this.#outbox && this.#transport.peers) {
      const own: PushItem = [bytes, page, index]
      for (const p of this.#transport.peers()) this.#sendItems(p, [own, ...this.#outbox.take(p)])
    } else this.#transport.broadcast(new Uint8Array(cbor.encode({ t: 'rec', page, index, bytes })))
    this.#heldAt(page, index)
  }

  // A record at `index` of `page` is in the index (pushed and valid, or this device's own). The page doc
  // brings it in a batch later (pageFlushMs); meanwhile the status counts it as indexed when every record
  // before it is too, so a node that has every record through the push is not shown behind.
  #heldAt(page: DocumentId, index: number): void {
    // A page the feed has not seen yet (its doc not synced) counts from 0; the feed fills in its details.
    const s = this.#board.get(page) ?? { venueId: '', deviceId: '', page: 0, indexed: 0 }
    let ahead = this.#ahead.get(page)
    if (!ahead) {
      ahead = new Set()
      this.#ahead.set(page, ahead)
    }
    if (index < s.indexed || ahead.size >= PAGE_CAPACITY) return
    ahead.add(index)
    let n = s.indexed
    while (ahead.delete(n)) n++
    for (const i of ahead) if (i < n) ahead.delete(i)
    if (ahead.size === 0) this.#ahead.delete(page)
    if (n > s.indexed)
      this.#board.indexed(page, { venueId: s.venueId, deviceId: s.deviceId, page: s.page, indexed: n })
  }

  /** Tells one peer (or all) this node's indexed record count per page, and its chain summary. */
  announce(peerId?: string): void {
    const m = new Uint8Array(cbor.encode({ t: 'have', counts: this.#board.counts() }))
    if (peerId) this.#transport.sendTo(peerId, m)
    else this.#transport.broadcast(m)
    this.#summarize(peerId, true)
  }

  // hello: sent on connect, answered with everything the peer lacks (no record of ours reached it yet).
  #summarize(peerId: string | undefined, hello: boolean): void {
    if (!this.#chains) return
    const m = new Uint8Array(cbor.encode({ t: 'sum', hello, chains: this.#chains.summary() }))
    if (peerId) this.#transport.sendTo(peerId, m)
    else this.#transport.broadcast(m)
  }

  #receive(peer: string, raw: Uint8Array): void {
    let message: unknown
    try {
      message = cbor.decode(raw)
    } catch {
      this.#bad(peer, 'push message does not decode')
      return
    }
    if (typeof message !== 'object' || message === null) {
      this.#bad(peer, 'push message is not a map')
      return
    }
    const m = message as Record<string, unknown>
    if (m.t === 'rec') {
      if (typeof m.page !== 'string' || !Number.isSafeInteger(m.index) || !(m.bytes instanceof Uint8Array)) {
        this.#bad(peer, 'record push lacks page, index or bytes')
        return
      }
      stamp('decoded')
      this.#record(peer, [m.bytes, m.page, m.index as number])
    } else if (m.t === 'recs') {
      const items = m.recs
      if (!Array.isArray(items) || items.length > ITEMS_PER_FRAME * 4 || !items.every(isItem)) {
        this.#bad(peer, 'record batch is not a list of [bytes, page?, index?]')
        return
      }
      stamp('decoded')
      for (const item of items as PushItem[]) this.#record(peer, item)
    } else if (m.t === 'sum') {
      this.#answer(peer, m)
    } else if (m.t === 'have') {
      if (typeof m.counts !== 'object' || m.counts === null) {
        this.#bad(peer, 'have without counts')
        return
      }
      const entries = Object.entries(m.counts as Record<string, unknown>)
      if (entries.length > MAX_HAVE_ENTRIES) {
        this.#bad(peer, 'have with too many pages')
        return
      }
      for (const [id, n] of entries) {
        // A page never holds more than PAGE_CAPACITY records: a larger claim is noise, not progress.
        if (Number.isSafeInteger(n) && (n as number) <= PAGE_CAPACITY)
          this.#board.known(id as DocumentId, n as number)
      }
    } else this.#bad(peer, 'unknown push message')
  }

  // One record from a peer: dropped if held already, else validated (once at a time per bytes), and
  // forwarded to the other peers if it is new here.
  #record(peer: string, item: PushItem): void {
    this.stats.received++
    const [view, page, index] = item
    // Keyed on the decoder's view of the frame: a copy held already (about every other receipt) is dropped
    // with no allocation but its key; only a record to validate is copied out of the frame. The key is the
    // record's last signature (recordKey): a copy that differs elsewhere is dropped as held too.
    const key = recordKey(view)
    this.#outbox?.heldBy(peer, key)
    const located = (outcome: IngestOutcome) => {
      // Only a record that validated says anything about the page's length.
      if (page !== undefined && index !== undefined && (outcome === 'applied' || outcome === 'duplicate')) {
        this.#board.known(page as DocumentId, index + 1)
        this.#heldAt(page as DocumentId, index)
      }
    }
    if (this.#held.has(key)) {
      this.stats.dropped++
      located('duplicate')
      return
    }
    const bytes = new Uint8Array(view)
    const earlier = this.#inFlight.get(key)
    // A failed ingest is reported by the feed ('error'); here it must not become an unhandled rejection.
    const verdict = (earlier ?? Promise.resolve('rejected' as IngestOutcome)).then((first) => {
      // The first copy validated: this one is the same bytes.
      if (first === 'applied' || first === 'duplicate') return 'duplicate' as const
      return this.#feed.push(bytes)
    })
    if (!earlier) this.#inFlight.set(key, verdict)
    void verdict.then(
      (outcome) => {
        if (this.#inFlight.get(key) === verdict) this.#inFlight.delete(key)
        if (outcome === 'applied' || outcome === 'duplicate') this.#held.add(key)
        located(outcome)
        // New here and valid: on to the other peers (a duplicate was forwarded when it was new).
        if (outcome === 'applied') this.#forward(peer, item, bytes, key)
      },
      () => {
        if (this.#inFlight.get(key) === verdict) this.#inFlight.delete(key)
      },
    )
  }

  #forward(from: string, item: PushItem, bytes: Uint8Array, key: string): void {
    this.stats.forwarded++
    const [, page, index] = item
    if (this.#outbox && this.#transport.peers) {
      const fwd: PushItem = page !== undefined && index !== undefined ? [bytes, page, index] : [bytes]
      for (const p of this.#transport.peers()) if (p !== from) this.#outbox.add(p, fwd, key)
    } else {
      const m =
        page !== undefined && index !== undefined
          ? { t: 'rec', page, index, bytes }
          : { t: 'recs', recs: [[bytes]] }
      this.#transport.broadcast(new Uint8Array(cbor.encode(m)), from)
    }
  }

  #sendItems(peer: string, items: PushItem[]): void {
    for (let i = 0; i < items.length; i += ITEMS_PER_FRAME)
      this.#transport.sendTo(
        peer,
        new Uint8Array(cbor.encode({ t: 'recs', recs: items.slice(i, i + ITEMS_PER_FRAME) })),
      )
  }

  // A peer's chain summary: send it what it lacks that this node still holds in memory.
  #answer(peer: string, m: Record<string, unknown>): void {
    const chains = m.chains
    if (!Array.isArray(chains) || chains.length > MAX_HAVE_ENTRIES || !chains.every(isChainEntry)) {
      this.#bad(peer, 'chain summary is not a list of [device, length, top]')
      return
    }
    this.stats.summaries++
    if (!this.#chains) return
    // At most one answer per peer per second, so a peer cannot make this node resend its memory in a loop;
    // a summary that comes sooner is answered when the second is up (the latest one, a hello if any was),
    // never dropped: a link that flapped would otherwise lose the hello of the connection that stayed.
    const hello = m.hello === true
    const wait = 1000 - (Date.now() - (this.#answered.get(peer) ?? -Infinity))
    if (wait > 0) {
      const later = this.#later.get(peer)
      if (later) {
        later.chains = chains as ChainEntry[]
        later.hello ||= hello
      } else {
        const entry = {
          chains: chains as ChainEntry[],
          hello,
          timer: setTimeout(() => {
            this.#later.delete(peer)
            this.#resend(peer, entry.chains, entry.hello)
          }, wait),
        }
        this.#later.set(peer, entry)
      }
      return
    }
    this.#resend(peer, chains as ChainEntry[], hello)
  }

  #resend(peer: string, chains: ChainEntry[], hello: boolean): void {
    if (!this.#chains || this.#stopped) return
    this.#answered.set(peer, Date.now())
    const theirs = new Map<string, [number, string]>()
    for (const [device, length, top] of chains) theirs.set(device, [length, top])
    // On a periodic summary, records learned in the last few seconds are probably on their way already.
    const records = this.#chains.missing(theirs, MAX_RESEND, hello ? 0 : 5000)
    this.stats.resent += records.length
    if (records.length > 0)
      this.#sendItems(
        peer,
        records.map((r) => [r] as PushItem),
      )
  }

  #bad(peer: string, reason: string): void {
    this.stats.malformed++
    this.#transport.misbehaved(peer, reason)
  }

  stop(): void {
    this.#stopped = true
    for (const { timer } of this.#later.values()) clearTimeout(timer)
    this.#later.clear()
    this.#off()
    if (this.#timer) clearInterval(this.#timer)
    this.#outbox?.stop()
  }
}

function isItem(x: unknown): boolean {
  if (!Array.isArray(x) || x.length < 1 || x.length > 3 || !(x[0] instanceof Uint8Array)) return false
  if (x.length === 1) return true
  return x.length === 3 && typeof x[1] === 'string' && Number.isSafeInteger(x[2])
}

function isChainEntry(x: unknown): boolean {
  return (
    Array.isArray(x) &&
    x.length === 3 &&
    typeof x[0] === 'string' &&
    x[0].length <= 128 &&
    Number.isSafeInteger(x[1]) &&
    (x[1] as number) >= 0 &&
    typeof x[2] === 'string' &&
    x[2].length <= 128
  )
}
