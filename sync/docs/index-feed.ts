// Feeds the ledger index from the documents: every signed entry of federation and venue docs and every
// record of every ledger page, as it arrives (local append, CRDT sync, or the direct push), validated and
// applied incrementally. Progress per page is kept with the index snapshot in one checkpoint file, so a
// restart reloads the snapshot and only looks at what is new; fully indexed full pages are not even loaded.
import type { DocHandle, DocHandleChangePayload, DocumentId } from '@automerge/automerge-repo/slim'
import { EventEmitter } from 'eventemitter3'
import type { DocumentLayout } from './layout.ts'
import { type DocClass, type LedgerPageDoc, PAGE_CAPACITY } from './schema.ts'
import { stamp } from './stage-trace.ts'

export type IngestOutcome = 'applied' | 'duplicate' | 'pending' | 'rejected'

/**
 * The index side of the feed (the ledger's LedgerIndex behind a small adapter, see sync/node). ingest() must
 * be idempotent by content hash: the same record can come from a page, a venue doc replay and a direct push,
 * and pushes are ingested concurrently with the rest (dedup must hold across its own awaits).
 */
export interface RecordSink {
  ingest(bytes: Uint8Array): IngestOutcome | Promise<IngestOutcome>
  /** Optional batch form (a page on catch-up), e.g. to verify many signatures concurrently. */
  ingestMany?(batch: Uint8Array[]): Promise<IngestOutcome[]>
  /** The whole index state, to be restored by the sink's owner before the feed starts. */
  snapshot(): Uint8Array
  /** The same bytes as parts to write in order (views of the sink's storage: no copy of it all). */
  snapshotParts?(): Uint8Array[]
}

/** Where the feed stands on one ledger page. */
export interface PageProgress {
  venueId: string
  deviceId: string
  page: number
  /** Records of the page already handed to the sink, from position 0. */
  indexed: number
}

export interface FeedState {
  pages: Record<string, PageProgress>
}

export interface FeedEvents {
  /** One record handed to the sink, with its outcome and where it came from. */
  ingested: (e: {
    outcome: IngestOutcome
    source: 'page' | 'entry' | 'push'
    documentId?: DocumentId
  }) => void
  /** A page's indexed count moved (for per-document progress). */
  progress: (documentId: DocumentId, p: PageProgress) => void
  error: (err: Error) => void
}

export class IndexFeed extends EventEmitter<FeedEvents> {
  readonly #sink: RecordSink
  readonly #layout: DocumentLayout
  readonly #pages: Record<string, PageProgress>
  readonly #capacity: number
  readonly #unloadFull: boolean
  // Ingestion is serialised so a snapshot is always taken between two records.
  #queue: Promise<unknown> = Promise.resolve()
  // The page batch at the tail of the queue, not started yet: the next page's records join it, so catch-up
  // hands the ledger thousands of records at once (its verification window stays full) instead of one page
  // after the other with a drained window between them.
  #openBatch: Batch | undefined
  #offs: Array<() => void> = []
  readonly #watched = new Set<DocumentId>()
  readonly #inFlight = new Set<Promise<unknown>>()

  constructor(
    layout: DocumentLayout,
    sink: RecordSink,
    state: FeedState = { pages: {} },
    options: { capacity?: number; unloadFullPages?: boolean } = {},
  ) {
    super()
    this.#layout = layout
    this.#sink = sink
    this.#pages = { ...state.pages }
    this.#capacity = options.capacity ?? PAGE_CAPACITY
    this.#unloadFull = options.unloadFullPages ?? true
  }

  /** Pages that are full and entirely indexed: the layout need not load them at start. */
  completePages(): Set<string> {
    return new Set(Object.keys(this.#pages).filter((id) => this.completePage(id as DocumentId)))
  }

  /** Has this page been indexed up to its capacity (a full page, never to change again)? */
  completePage(documentId: DocumentId): boolean {
    return (this.#pages[documentId]?.indexed ?? 0) >= this.#capacity
  }

  progressOf(documentId: DocumentId): PageProgress | undefined {
    return this.#pages[documentId]
  }

  start(): void {
    const onPage = (h: DocHandle<LedgerPageDoc>, cls: Extract<DocClass, { kind: 'ledger-page' }>) =>
      this.#watchPage(h, cls)
    const onEntries = (h: DocHandle<{ entries: Uint8Array[] }>) => this.watchEntries(h)
    const onWhole = (
      id: DocumentId,
      cls: Extract<DocClass, { kind: 'ledger-page' }>,
      records: Uint8Array[],
    ) => this.#ingestWhole(id, cls, records)
    this.#layout.on('page', onPage)
    this.#layout.on('entries', onEntries)
    this.#layout.on('wholePage', onWhole)
    this.#offs.push(
      () => this.#layout.off('page', onPage),
      () => this.#layout.off('entries', onEntries),
      () => this.#layout.off('wholePage', onWhole),
    )
  }

  /** Feeds a federation/venue doc's signed entries, now and as they change (multi-writer: all, deduped). */
  watchEntries(handle: DocHandle<{ entries: Uint8Array[] }>): void {
    if (this.#watched.has(handle.documentId)) return
    this.#watched.add(handle.documentId)
    const all = () => {
      for (const e of handle.doc().entries ?? []) this.#enqueue(e, 'entry', handle.documentId)
    }
    const onChange = (p: DocHandleChangePayload<{ entries: Uint8Array[] }>) => {
      for (const v of insertedValues(p, 'entries')) this.#enqueue(v, 'entry', handle.documentId)
    }
    handle.on('change', onChange)
    this.#offs.push(() => handle.off('change', onChange))
    all()
  }

  /**
   * A record that came straight from a peer (the low-latency push): validated like any other, but not
   * queued behind other records. Each ingest waits on a signature check in the thread pool; queued, one
   * check delayed by a loaded machine held up every push after it (the 20 tx/s tail). The sink re-checks
   * its dedup after every await, and pushes do not move page progress, so a checkpoint taken meanwhile
   * stays consistent (a push still in flight is simply not in it; its page brings it again).
   */
  push(bytes: Uint8Array): Promise<IngestOutcome> {
    const p = Promise.resolve(this.#sink.ingest(bytes)).then((outcome) => {
      this.emit('ingested', { outcome, source: 'push' })
      return outcome
    })
    this.#inFlight.add(p)
    void p.then(
      () => this.#inFlight.delete(p),
      (e) => {
        this.#inFlight.delete(p)
        this.emit('error', e as Error)
      },
    )
    return p
  }

  #watchPage(h: DocHandle<LedgerPageDoc>, cls: Extract<DocClass, { kind: 'ledger-page' }>): void {
    const id = h.documentId
    let p = this.#pages[id]
    if (!p) {
      p = { venueId: cls.venueId, deviceId: cls.deviceId, page: cls.page, indexed: 0 }
      this.#pages[id] = p
    }
    const progress = p
    let queued = progress.indexed // handed to the queue (synchronously); p.indexed moves once they are ingested
    // The page keeps its slot in the layout's page window until its records are in the index.
    this.#layout.retain(id)
    let first = true
    const catchUp = () => {
      const records = h.doc().records ?? []
      if (records.length <= queued) {
        if (first) this.#layout.release(id)
        first = false
        return
      }
      first = false
      const fresh = records.slice(queued).filter((r): r is Uint8Array => r instanceof Uint8Array)
      if (this.#sink.ingestMany && fresh.length > 1) this.#enqueueMany(fresh, id)
      else for (const r of fresh) this.#enqueue(r, 'page', id)
      // A page not full yet (a device's last page: it stays loaded, it is live) gives its slot back once its
      // records are handed over: it kept it until the ledger had taken every batch queued before it, and a
      // festival's 50 partial till pages went through the window 4 at a time behind the history's batches.
      if (records.length < this.#capacity) this.#layout.release(id)
      const n = records.length
      queued = n
      void this.#queue.then(() => {
        progress.indexed = Math.max(progress.indexed, n)
        this.emit('progress', id, progress)
        if (this.#unloadFull && progress.indexed >= this.#capacity) this.#release(h, onChange)
        else this.#layout.release(id)
      })
    }
    // A single-writer page only grows at its end; anything inserted earlier (a misbehaving peer) is fed too.
    const onChange = (payload: DocHandleChangePayload<LedgerPageDoc>) => {
      stamp('crdt')
      for (const v of insertedValues(payload, 'records', queued)) this.#enqueue(v, 'page', id)
      catchUp()
    }
    h.on('change', onChange)
    this.#offs.push(() => h.off('change', onChange))
    catchUp()
  }

  // A full page that came whole (no handle): its records join the batch, and once they are in the index the
  // page counts as full and indexed (it was stored before it was handed over, so a checkpoint may say so).
  #ingestWhole(id: DocumentId, cls: Extract<DocClass, { kind: 'ledger-page' }>, records: Uint8Array[]): void {
    let p = this.#pages[id]
    if (!p) {
      p = { venueId: cls.venueId, deviceId: cls.deviceId, page: cls.page, indexed: 0 }
      this.#pages[id] = p
    }
    const progress = p
    const fresh = records.slice(progress.indexed)
    if (fresh.length === 0) return
    this.#layout.retain(id)
    // Its slot in the page window goes back once its batch starts: the next pages are fetched and loaded
    // while the ledger checks this one (they wait in the next batch, not in the ledger: pending is the same).
    if (this.#sink.ingestMany && fresh.length > 1)
      this.#enqueueMany(fresh, id, () => this.#layout.release(id))
    else for (const r of fresh) this.#enqueue(r, 'page', id)
    void this.#queue.then(() => {
      progress.indexed = Math.max(progress.indexed, records.length)
      this.emit('progress', id, progress)
      this.#layout.indexedWhole(id)
    })
  }

  #release(h: DocHandle<LedgerPageDoc>, onChange: (p: DocHandleChangePayload<LedgerPageDoc>) => void): void {
    h.off('change', onChange)
    void this.#layout.unload(h.documentId).catch((e) => this.emit('error', e as Error))
  }

  #enqueue(
    bytes: Uint8Array,
    source: 'page' | 'entry' | 'push',
    documentId?: DocumentId,
  ): Promise<IngestOutcome> {
    const next = this.#queue.then(async () => {
      const outcome = await this.#sink.ingest(bytes)
      this.emit('ingested', documentId ? { outcome, source, documentId } : { outcome, source })
      return outcome
    })
    this.#append(next)
    return next
  }

  #append(next: Promise<unknown>): void {
    this.#openBatch = undefined
    this.#queue = next.catch((e) => this.emit('error', e as Error))
  }

  // `onStart` runs when the batch holding these records goes to the sink.
  #enqueueMany(batch: Uint8Array[], documentId: DocumentId, onStart?: () => void): void {
    const open = this.#openBatch
    if (open) {
      open.items.push(...batch)
      open.docs.push([documentId, batch.length])
      if (onStart) open.starts.push(onStart)
      return
    }
    const sink = this.#sink
    const mine: Batch = {
      items: [...batch],
      docs: [[documentId, batch.length]],
      starts: onStart ? [onStart] : [],
    }
    const next = this.#queue.then(async () => {
      if (this.#openBatch === mine) this.#openBatch = undefined
      for (const start of mine.starts) start()
      const outcomes = await sink.ingestMany!(mine.items)
      let at = 0
      for (const [doc, n] of mine.docs)
        for (let k = 0; k < n; k++)
          this.emit('ingested', { outcome: outcomes[at++]!, source: 'page', documentId: doc })
    })
    this.#append(next)
    this.#openBatch = mine
  }

  /** Resolves when everything handed to the feed so far has been ingested. */
  async idle(): Promise<void> {
    let q: Promise<unknown>
    do {
      q = this.#queue
      await q
      await Promise.allSettled([...this.#inFlight])
    } while (q !== this.#queue || this.#inFlight.size > 0)
  }

  /** The sink snapshot and page progress, taken together between two records. */
  async checkpoint(): Promise<{ state: FeedState; snapshot: Uint8Array }> {
    return this.#checkpoint(() => this.#sink.snapshot())
  }

  /** checkpoint() with the sink's snapshot as parts to write in order (snapshotParts, when the sink has it). */
  async checkpointParts(): Promise<{ state: FeedState; snapshot: Uint8Array[] }> {
    return this.#checkpoint(() => this.#sink.snapshotParts?.() ?? [this.#sink.snapshot()])
  }

  async #checkpoint<T>(snapshot: () => T): Promise<{ state: FeedState; snapshot: T }> {
    const taken = this.#queue.then(() => ({
      state: { pages: structuredClone(this.#pages) },
      snapshot: snapshot(),
    }))
    this.#openBatch = undefined
    this.#queue = taken.catch(() => {})
    return taken
  }

  stop(): void {
    for (const off of this.#offs) off()
    this.#offs = []
  }
}

/** Page records waiting to go to the sink together, the pages they came from, and what runs as they go. */
interface Batch {
  items: Uint8Array[]
  docs: Array<[DocumentId, number]>
  starts: Array<() => void>
}

// Values inserted into the top-level list `key` by a change (only those before `before`, if given: the
// ones at the end are picked up by the length-based catch-up).
function insertedValues<T>(payload: DocHandleChangePayload<T>, key: string, before?: number): Uint8Array[] {
  const out: Uint8Array[] = []
  for (const patch of payload.patches) {
    if (patch.action !== 'insert' || patch.path[0] !== key || patch.path.length !== 2) continue
    const at = patch.path[1]
    if (before !== undefined && typeof at === 'number' && at >= before) continue
    for (const v of patch.values) if (v instanceof Uint8Array) out.push(v)
  }
  return out
}
