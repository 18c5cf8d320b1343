// The device's append-only log: records go into its current ledger page; when the page holds PAGE_CAPACITY
// records the writer opens the next page. append() resolves only after the page (and, on rollover, the
// venue directory) is flushed to storage.
// Batching (`flushMs` > 0): records are located at once (the direct push leaves then) but enter the page
// doc together, one Automerge change per page per interval: every change costs a sync message, a
// receiveSyncMessage and a save on every replica, so a change per record saturated the festival's tills.
// The interval stretches with the number of devices in the venue beyond DEVICES_PER_INTERVAL.
// The venue node acknowledges a payment once it is in its chain log (fdatasync'ed), before the batch.
import type { AutomergeUrl, DocHandle, DocumentId } from '@automerge/automerge-repo/slim'
import { InvalidRecordBytesError, PageWriterClosedError } from './errors.ts'
import type { DocumentLayout } from './layout.ts'
import { asUrl, type LedgerPageDoc, PAGE_CAPACITY, type VenueDoc } from './schema.ts'

/** Where an appended record now lives. */
export interface RecordLocation {
  pageUrl: AutomergeUrl
  page: number
  /** Position in the page's records list. */
  index: number
}

/**
 * Devices a venue may have before the page batch interval stretches (see PageWriter #interval). 5, not 10
 * (session 5): at 20 festival tills the page sync was still a quarter of a till's main thread (its CRDT work
 * per replica is per page change, and every change reaches every replica over every link).
 */
export const DEVICES_PER_INTERVAL = 5
/** The batch interval stretches at most this many times (10 s -> 120 s, reached at 60 devices). */
const MAX_STRETCH = 12

/** The page batch interval of a venue with `devices` devices (see PageWriter #interval). */
export function pageBatchInterval(flushMs: number, devices: number): number {
  return flushMs * Math.min(MAX_STRETCH, Math.max(1, devices / DEVICES_PER_INTERVAL))
}

/** Largest record accepted as one page entry (a sale with many lines stays far below). */
export const MAX_RECORD_BYTES = 64 * 1024

export class PageWriter {
  readonly #layout: DocumentLayout
  readonly #venue: DocHandle<VenueDoc>
  readonly #deviceId: string
  readonly #capacity: number
  readonly #flushMs: number
  #page: DocHandle<LedgerPageDoc>
  // Kept here rather than read from the doc: a full page may already have been unloaded by the index feed.
  #pageNo: number
  #count: number
  #last: Uint8Array | undefined
  #queue: Promise<unknown> = Promise.resolve()
  readonly #pending = new Set<Promise<RecordLocation>>()
  #closed = false
  // Located but not yet in the page doc (batching): the records and the appends waiting on them.
  #staged: Uint8Array[] = []
  #stagedDone: Array<{ resolve: (ids: DocumentId[]) => void }> = []
  #stagedIds: DocumentId[] = []
  #timer: ReturnType<typeof setTimeout> | undefined

  private constructor(
    layout: DocumentLayout,
    venue: DocHandle<VenueDoc>,
    deviceId: string,
    page: DocHandle<LedgerPageDoc>,
    capacity: number,
    flushMs: number,
  ) {
    this.#layout = layout
    this.#flushMs = flushMs
    this.#venue = venue
    this.#deviceId = deviceId
    this.#page = page
    this.#capacity = capacity
    const doc = page.doc()
    this.#pageNo = doc.page
    this.#count = doc.records.length
    this.#last = doc.records[doc.records.length - 1]
  }

  /** Opens the device's last page (or creates page 0). */
  static async open(
    layout: DocumentLayout,
    venue: DocHandle<VenueDoc>,
    deviceId: string,
    /** flushMs: records enter the page doc in one change per this interval (0: one change per record). */
    options: { capacity?: number; flushMs?: number } = {},
  ): Promise<PageWriter> {
    const urls = venue.doc().pages[deviceId] ?? []
    const last = urls[urls.length - 1]
    const page = last
      ? await layout.find<LedgerPageDoc>(asUrl(last), { attempts: 3 })
      : layout.createPage(venue, deviceId, 0)
    if (!last) await layout.repo.flush([page.documentId, venue.documentId])
    return new PageWriter(
      layout,
      venue,
      deviceId,
      page,
      options.capacity ?? PAGE_CAPACITY,
      options.flushMs ?? 0,
    )
  }

  get currentPage(): DocHandle<LedgerPageDoc> {
    return this.#page
  }

  /** The last record this device stored (to continue its device chain after a restart). */
  lastRecord(): Uint8Array | undefined {
    return this.#last
  }

  /**
   * Appends one record; resolves once it is durably stored. Appends enter the page in call order; their
   * flushes may overlap. `onLocated` runs as soon as the record's place is fixed, just before it enters
   * the page doc (the direct push leaves then, ahead of the CRDT work this change starts).
   */
  append(record: Uint8Array, onLocated?: (location: RecordLocation) => void): Promise<RecordLocation> {
    if (this.#closed) return Promise.reject(new PageWriterClosedError('page writer is closed'))
    if (!(record instanceof Uint8Array) || record.length === 0 || record.length > MAX_RECORD_BYTES) {
      return Promise.reject(
        new InvalidRecordBytesError(`a record must be 1..${MAX_RECORD_BYTES} bytes as a Uint8Array`),
      )
    }
    const staged = this.#queue.then(() => this.#stage(record, onLocated))
    this.#queue = staged.catch(() => {})
    const done = staged.then(async ({ location, committed }) => {
      await this.#groupFlush(await committed)
      return location
    })
    this.#pending.add(done)
    void done.catch(() => {}).finally(() => this.#pending.delete(done))
    return done
  }

  // Group commit: one flush at a time; appends staged meanwhile share the next one. At 20 tx/s this turns
  // twenty fsync'ed saves a second into a few, each covering every record staged before it started.
  #flushing = false
  #batch: { ids: Set<DocumentId>; waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> } = {
    ids: new Set(),
    waiters: [],
  }

  #groupFlush(ids: DocumentId[]): Promise<void> {
    const w = Promise.withResolvers<void>()
    for (const id of ids) this.#batch.ids.add(id)
    this.#batch.waiters.push(w)
    this.#nextFlush()
    return w.promise
  }

  #nextFlush(): void {
    if (this.#flushing || this.#batch.waiters.length === 0) return
    const batch = this.#batch
    this.#batch = { ids: new Set(), waiters: [] }
    this.#flushing = true
    // A full page may have been let go by the index feed meanwhile (layout.unload): that unload flushed it
    // first, after this record was in it (the feed saw the record), and a flush of a handle no longer
    // cached throws in automerge-repo ("waiting for ... to be in one of states: ready").
    const repo = this.#layout.repo
    repo
      .flush([...batch.ids].filter((id) => repo.handles[id]?.isReady()))
      .then(
        () => {
          for (const w of batch.waiters) w.resolve()
        },
        (e) => {
          for (const w of batch.waiters) w.reject(e)
        },
      )
      .finally(() => {
        this.#flushing = false
        this.#nextFlush()
      })
  }

  #stage(
    record: Uint8Array,
    onLocated?: (location: RecordLocation) => void,
  ): { location: RecordLocation; committed: Promise<DocumentId[]> } {
    const rollover: DocumentId[] = []
    if (this.#count >= this.#capacity) {
      this.#commit() // the full page's last batch goes into that page
      this.#pageNo += 1
      this.#count = 0
      this.#page = this.#layout.createPage(this.#venue, this.#deviceId, this.#pageNo)
      rollover.push(this.#venue.documentId)
    }
    const page = this.#page
    const location = { pageUrl: page.url, page: this.#pageNo, index: this.#count }
    onLocated?.(location)
    this.#count += 1
    this.#last = record
    const committed = Promise.withResolvers<DocumentId[]>()
    this.#staged.push(record)
    this.#stagedDone.push(committed)
    this.#stagedIds.push(...rollover)
    // Jittered (0.5-1.5 x the interval): tills that start selling together would otherwise all change their
    // pages at the same moment, every interval, and the sync of twenty changes at once stalled every
    // replica's push path for seconds (a 20-till festival's convergence, measured at the end of sales).
    if (this.#flushMs <= 0) this.#commit()
    else this.#timer ??= setTimeout(() => this.#commit(), this.#interval() * (0.5 + Math.random()))
    return { location, committed: committed.promise }
  }

  // flushMs is the interval for a venue of up to DEVICES_PER_INTERVAL devices; a larger venue stretches it in
  // proportion (at most MAX_STRETCH times). Every device's page change is synced to every replica over every
  // link, so a replica's CRDT work grows with the number of devices writing: at 20 festival tills it was a
  // quarter of a till's CPU per live record. Stretched, each replica handles about the same number of page
  // changes per second whatever the venue's size; the records themselves travel by the push and its
  // anti-entropy, the pages stay the durable and catch-up path (a little further behind).
  #interval(): number {
    return pageBatchInterval(this.#flushMs, Object.keys(this.#venue.doc()?.pages ?? {}).length)
  }

  // One Automerge change for every staged record of the current page.
  #commit(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#staged.length === 0) return
    const records = this.#staged
    const done = this.#stagedDone
    const ids = [...this.#stagedIds, this.#page.documentId]
    this.#staged = []
    this.#stagedDone = []
    this.#stagedIds = []
    this.#page.change((d) => {
      for (const r of records) d.records.push(r)
    })
    for (const w of done) w.resolve(ids)
  }

  /** Puts staged records into the page doc now, without waiting for the batch interval. */
  commitNow(): void {
    this.#commit()
  }

  /** Resolves when every append so far is flushed (or failed). */
  async settled(): Promise<void> {
    await this.#queue
    this.#commit()
    await Promise.allSettled([...this.#pending])
  }

  /** Commits and flushes pending appends, then refuses new ones. */
  async close(): Promise<void> {
    this.#closed = true
    await this.#queue
    this.#commit()
    await Promise.allSettled([...this.#pending])
  }
}
