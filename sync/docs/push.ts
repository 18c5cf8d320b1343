// The direct record push, alongside the CRDT sync. automerge-repo sends at most one sync message per
// document per peer every 100 ms (hard-coded throttle), so a record appended right after another waits up
// to 100 ms for the CRDT. Ephemeral messages are not throttled: right after a record is durably appended,
// the writer broadcasts it as an ephemeral message on its venue doc (every peer holds every venue doc);
// receivers validate it into their index at once. The push is only a latency hint: the bytes are treated
// as untrusted input and validated like any record, and the page doc still brings the same record through
// the CRDT (deduplicated by hash), so a lost or forged push changes nothing durable.
// The same channel carries "have" announcements (record count per page) for the per-document status.
import type { DocHandle, DocHandleEphemeralMessagePayload, DocumentId } from '@automerge/automerge-repo/slim'
import type { IndexFeed } from './index-feed.ts'
import { PAGE_CAPACITY, type VenueDoc } from './schema.ts'
import type { DocStatusBoard } from './status.ts'

const MAX_HAVE_ENTRIES = 100_000

interface PushMessage {
  lakou: 'rec'
  page: string
  index: number
  bytes: Uint8Array
}

interface HaveMessage {
  lakou: 'have'
  counts: Record<string, number>
}

export class RecordPush {
  readonly #feed: IndexFeed
  readonly #board: DocStatusBoard
  readonly #venues = new Map<DocumentId, { handle: DocHandle<VenueDoc>; off: () => void }>()
  /** Counts of pushes accepted / ignored as malformed (for tests and metrics). */
  readonly stats = { received: 0, malformed: 0 }

  constructor(feed: IndexFeed, board: DocStatusBoard) {
    this.#feed = feed
    this.#board = board
  }

  /** Listens for pushes and announcements on a venue doc. */
  watch(venue: DocHandle<VenueDoc>): void {
    if (this.#venues.has(venue.documentId)) return
    const onMessage = (p: DocHandleEphemeralMessagePayload<VenueDoc>) => this.#receive(p.message)
    venue.on('ephemeral-message', onMessage)
    this.#venues.set(venue.documentId, {
      handle: venue,
      off: () => venue.off('ephemeral-message', onMessage),
    })
  }

  /** Broadcasts a record this device just stored (after the flush) to every peer holding the venue doc. */
  send(venue: DocHandle<VenueDoc>, page: DocumentId, index: number, bytes: Uint8Array): void {
    const m: PushMessage = { lakou: 'rec', page, index, bytes }
    venue.broadcast(m)
  }

  /** Announces this node's indexed record count per page (on a new peer, and periodically). */
  announce(): void {
    const m: HaveMessage = { lakou: 'have', counts: this.#board.counts() }
    for (const { handle } of this.#venues.values()) {
      handle.broadcast(m)
      break // one venue doc reaches every peer; all hold all venue docs
    }
  }

  #receive(message: unknown): void {
    if (typeof message !== 'object' || message === null) return void this.stats.malformed++
    const m = message as Record<string, unknown>
    if (m.lakou === 'rec') {
      if (typeof m.page !== 'string' || !Number.isSafeInteger(m.index) || !(m.bytes instanceof Uint8Array)) {
        return void this.stats.malformed++
      }
      this.stats.received++
      void this.#feed.push(m.bytes).then((outcome) => {
        // Only a record that validated says anything about the page's length.
        if (outcome === 'applied' || outcome === 'duplicate') {
          this.#board.known(m.page as DocumentId, (m.index as number) + 1)
        }
      })
    } else if (m.lakou === 'have') {
      if (typeof m.counts !== 'object' || m.counts === null) return void this.stats.malformed++
      const entries = Object.entries(m.counts as Record<string, unknown>)
      if (entries.length > MAX_HAVE_ENTRIES) return void this.stats.malformed++
      for (const [id, n] of entries) {
        // A page never holds more than PAGE_CAPACITY records: a larger claim is noise, not progress.
        if (Number.isSafeInteger(n) && (n as number) <= PAGE_CAPACITY)
          this.#board.known(id as DocumentId, n as number)
      }
    }
  }

  stop(): void {
    for (const { off } of this.#venues.values()) off()
    this.#venues.clear()
  }
}
