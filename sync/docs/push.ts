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
// The same channel carries "have" announcements (record count per page) for the per-document status.
// (Not automerge-repo ephemeral messages: the repo re-broadcasts them under the original sender's id, which
// sync/net's adapter rightly treats as a spoofed sender.)
import type { DocumentId } from '@automerge/automerge-repo/slim'
import { cbor } from '@automerge/automerge-repo/slim'
import type { IndexFeed } from './index-feed.ts'
import { PAGE_CAPACITY } from './schema.ts'
import { stamp } from './stage-trace.ts'
import type { DocStatusBoard } from './status.ts'

const MAX_HAVE_ENTRIES = 100_000

/** Moves opaque messages to and from directly connected peers. */
export interface PushTransport {
  /** Sends to every connected, authenticated peer (but `except`). */
  broadcast(message: Uint8Array, except?: string): void
  /** Sends to one peer. */
  sendTo(peerId: string, message: Uint8Array): void
  onMessage(fn: (peerId: string, message: Uint8Array) => void): () => void
  /** Reports a peer that sent something malformed (the transport may drop it). */
  misbehaved(peerId: string, reason: string): void
}

export class RecordPush {
  readonly #feed: IndexFeed
  readonly #board: DocStatusBoard
  readonly #transport: PushTransport
  readonly #off: () => void
  // Positions of pages held through pushes beyond the page's contiguous indexed count (out-of-order pushes).
  readonly #ahead = new Map<DocumentId, Set<number>>()
  /** Counts of pushes received / ignored as malformed (tests and metrics). */
  readonly stats = { received: 0, malformed: 0, forwarded: 0 }

  constructor(feed: IndexFeed, board: DocStatusBoard, transport: PushTransport) {
    this.#feed = feed
    this.#board = board
    this.#transport = transport
    this.#off = transport.onMessage((peer, m) => this.#receive(peer, m))
  }

  /** Sends a record this device just stored to every connected peer. */
  send(page: DocumentId, index: number, bytes: Uint8Array): void {
    this.#transport.broadcast(new Uint8Array(cbor.encode({ t: 'rec', page, index, bytes })))
    this.#held(page, index)
  }

  // A record at `index` of `page` is in the index (pushed and valid, or this device's own). The page doc
  // brings it in a batch later (pageFlushMs); meanwhile the status counts it as indexed when every record
  // before it is too, so a node that has every record through the push is not shown behind.
  #held(page: DocumentId, index: number): void {
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

  /** Tells one peer (or all) this node's indexed record count per page. */
  announce(peerId?: string): void {
    const m = new Uint8Array(cbor.encode({ t: 'have', counts: this.#board.counts() }))
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
      this.stats.received++
      stamp('decoded')
      const bytes = new Uint8Array(m.bytes)
      // A failed ingest is reported by the feed ('error'); here it must not become an unhandled rejection.
      void this.#feed.push(bytes).then(
        (outcome) => {
          // Only a record that validated says anything about the page's length.
          if (outcome === 'applied' || outcome === 'duplicate') {
            this.#board.known(m.page as DocumentId, (m.index as number) + 1)
            this.#held(m.page as DocumentId, m.index as number)
          }
          // New here and valid: on to the other peers (a duplicate was forwarded when it was new).
          if (outcome === 'applied') {
            this.stats.forwarded++
            this.#transport.broadcast(
              new Uint8Array(cbor.encode({ t: 'rec', page: m.page, index: m.index, bytes })),
              peer,
            )
          }
        },
        () => {},
      )
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

  #bad(peer: string, reason: string): void {
    this.stats.malformed++
    this.#transport.misbehaved(peer, reason)
  }

  stop(): void {
    this.#off()
  }
}
