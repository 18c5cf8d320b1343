// Creating, finding and classifying Lakou documents in one automerge-repo Repo. The directory is a tree:
// federation doc -> venue docs -> (ledger pages per device, personal doc). A new device, given only the
// federation doc url, walks it and so finds every document it must hold; it keeps walking as the directory
// grows (a venue admitted, a device opening its next page). Runs unchanged in browsers (slim imports).
import {
  Automerge,
  type AutomergeUrl,
  type DocHandle,
  type DocumentId,
  type Repo,
} from '@automerge/automerge-repo/slim'
import { EventEmitter } from 'eventemitter3'
import { DocumentUnavailableError, MalformedDocumentError } from './errors.ts'
import type { FullPageSource } from './full-page.ts'
import {
  asUrl,
  classifyDoc,
  type DocClass,
  type FederationDoc,
  imm,
  type LedgerPageDoc,
  type PersonalDoc,
  str,
  type VenueDoc,
} from './schema.ts'

export interface LayoutEvents {
  /** A document was classified (created here or found through the directory). */
  classified: (documentId: DocumentId, cls: DocClass) => void
  /** A federation or venue doc is ready locally (its signed entries feed the index). */
  entries: (handle: DocHandle<FederationDoc> | DocHandle<VenueDoc>, cls: DocClass) => void
  /** A ledger page is ready locally (found or created); the index feed subscribes to it. */
  page: (handle: DocHandle<LedgerPageDoc>, cls: Extract<DocClass, { kind: 'ledger-page' }>) => void
  /** A document named by the directory is not a Lakou document of the kind the directory says. */
  malformed: (url: AutomergeUrl, reason: string) => void
  /**
   * A full ledger page came whole from the `fullPages` source (stored, no repo handle): a listener indexes
   * its records, keeping its slot in the page window (retain) until it calls indexedWhole().
   */
  wholePage: (
    documentId: DocumentId,
    cls: Extract<DocClass, { kind: 'ledger-page' }>,
    records: Uint8Array[],
  ) => void
}

export interface FollowOptions {
  /** The venue this device belongs to: the only venue whose personal-data doc it holds. */
  ownVenueId?: string
  /** Hold every venue's personal doc (never for a till; only tests). Default false. */
  allPersonal?: boolean
  /** Pages already fully indexed (from the checkpoint): known, served on request, but not loaded. */
  skipPages?: Set<string>
}

interface WaitingPage {
  url: AutomergeUrl
  id: DocumentId
  /** The page's number in its device's list: pages are loaded lowest number first, across devices. */
  pageNo: number
  /** Not the last page of its device's list when queued: full (a device opens a page when one is full). */
  full: boolean
  order: number
  venueId: string
  deviceId: string
}

/**
 * Ledger pages loading or being indexed at once (the page window), by default. Measured on a 200k catch-up
 * (bench/catch-up.ts, loaded machine): 16 -> 45 s, 531 MB; 8 -> 39-54 s, 453-507 MB; 4 -> 33 s, 422 MB;
 * 2 -> 37 s, 422 MB. Fewer pages at once keep fewer records pending (and fewer docs in memory).
 */
export const PAGE_WINDOW = 4
/**
 * Full pages asked whole (a `fullPages` source) at once, in a window of their own: a whole page holds its
 * bytes and records, not a loaded doc, until its batch goes to the ledger. Its own window, because in a
 * 50-till festival the fresh till's history queued behind the tills' 50 partial page 0s (each asked whole
 * of every peer, then synced through the repo) 4 at a time (bench/festival/README "Seventh session, H3").
 * 8 raised the fresh till's peak RSS at 200k by 20-35 MB (one-till bench, two pairs: 273 and 286 against
 * 250 and 252 MB), near the 300 MB target: 4.
 */
export const WHOLE_PAGE_WINDOW = 4
/** How long after an unload a page's automerge doc is freed (above automerge-repo's save throttle). */
export const FREE_DELAY_MS = 5000
/** How long a full page stays loaded at most for a connected peer that has not synced it to our heads. */
export const UNLOAD_WAIT_MS = 30_000

export class DocumentLayout extends EventEmitter<LayoutEvents> {
  readonly repo: Repo
  readonly #classes = new Map<DocumentId, DocClass>()
  readonly #following = new Set<DocumentId>()
  readonly #pagesSeen = new Set<DocumentId>()
  // The page window. A new device used to find every page of the directory at once: at 200 full pages all
  // were loaded together (1.2 GB), and arrived device by device, so card chains, which cross devices, left
  // nearly every record pending in the ledger until the last page. Now at most `pageWindow` pages hold a
  // slot, from their find until whoever indexes them lets go (release/unload), lowest page number first:
  // page n of every device before page n + 1 of any, roughly the order the records were signed in.
  readonly #waitingPages: WaitingPage[] = []
  readonly #slots = new Set<DocumentId>()
  // the slots of full pages asked whole (the whole-page window; the others are the page window)
  readonly #wholeSlots = new Set<DocumentId>()
  readonly #wholeWindow: number
  readonly #retained = new Set<DocumentId>()
  readonly #pageWindow: number
  readonly #slotTimeoutMs: number
  #order = 0
  // Full, indexed pages (unloaded once, or skipped from the checkpoint). A peer's sync message for one loads
  // it back into the repo (automerge-repo serves it from disk) and nothing let it go again: a till serving
  // the history to a fresh one held every page. A sweep unloads those found loaded on two sweeps in a row.
  readonly #complete = new Set<DocumentId>()
  readonly #loadedAtSweep = new Set<DocumentId>()
  readonly #sweepMs: number
  #sweepTimer: ReturnType<typeof setInterval> | undefined
  #stopped = false
  #retryMs: number
  // Unloaded docs whose WASM memory is freed after #freeDelayMs (see unload).
  readonly #toFree = new Set<object>()
  readonly #freeDelayMs: number
  // Full pages whose unload waits for a peer still behind on them (see unload), since when.
  readonly #unloadWaitSince = new Map<DocumentId, number>()
  readonly #fullPages: FullPageSource | undefined
  #cameWhole = 0

  constructor(
    repo: Repo,
    options: {
      retryMs?: number
      pageWindow?: number
      /** Full pages asked whole at once (default WHOLE_PAGE_WINDOW), when there is a `fullPages` source. */
      wholePageWindow?: number
      slotTimeoutMs?: number
      sweepMs?: number
      freeDelayMs?: number
      /** Where full pages are got whole first (sync/node/page-transfer.ts); without it, all come by sync. */
      fullPages?: FullPageSource
    } = {},
  ) {
    super()
    this.repo = repo
    this.#retryMs = options.retryMs ?? 1000
    this.#pageWindow = Math.max(1, options.pageWindow ?? PAGE_WINDOW)
    this.#wholeWindow = Math.max(1, options.wholePageWindow ?? WHOLE_PAGE_WINDOW)
    this.#slotTimeoutMs = options.slotTimeoutMs ?? 10_000
    this.#sweepMs = options.sweepMs ?? 2000
    this.#freeDelayMs = options.freeDelayMs ?? FREE_DELAY_MS
    this.#fullPages = options.fullPages
  }

  #markComplete(documentId: DocumentId): void {
    this.#complete.add(documentId)
    if (this.#sweepTimer || this.#stopped) return
    this.#sweepTimer = setInterval(() => this.#sweep(), this.#sweepMs)
    this.#sweepTimer.unref?.()
  }

  #sweep(): void {
    for (const id of this.#complete) {
      const h = this.repo.handles[id]
      if (!h?.isReady()) {
        this.#loadedAtSweep.delete(id)
        continue
      }
      if (!this.#loadedAtSweep.has(id)) {
        this.#loadedAtSweep.add(id)
        continue
      }
      this.#loadedAtSweep.delete(id)
      void this.unload(id).catch(() => {})
    }
  }

  /** Full, indexed pages this layout lets go of whenever a peer's request loads them again. */
  get completePages(): number {
    return this.#complete.size
  }

  /** Classification for the share policy; undefined for a document this node has not classified. */
  classify(documentId: DocumentId): DocClass | undefined {
    return this.#classes.get(documentId)
  }

  /** Records a classification known without loading the doc (a fully indexed page, from the checkpoint). */
  learn(documentId: DocumentId, cls: DocClass): void {
    if (this.#classes.has(documentId)) return
    this.#classes.set(documentId, cls)
    this.emit('classified', documentId, cls)
  }

  #remember(handle: DocHandle<unknown>, expected: DocClass['kind']): DocClass {
    const cls = classifyDoc(handle.doc())
    if (!cls || cls.kind !== expected) {
      const reason = `expected a ${expected} document, found ${cls?.kind ?? 'no Lakou tag'}`
      this.emit('malformed', handle.url, reason)
      throw new MalformedDocumentError(`${handle.url}: ${reason}`)
    }
    if (!this.#classes.has(handle.documentId)) {
      this.#classes.set(handle.documentId, cls)
      this.emit('classified', handle.documentId, cls)
    }
    return cls
  }

  createFederation(federationId: string): DocHandle<FederationDoc> {
    const h = this.repo.create<FederationDoc>({
      lakou: 'federation/v1',
      federationId: imm(federationId),
      entries: [],
      venues: {},
    })
    this.#remember(h, 'federation')
    return h
  }

  /** Creates a venue doc and its personal doc, and lists the venue in the federation directory. */
  createVenue(federation: DocHandle<FederationDoc>, venueId: string): DocHandle<VenueDoc> {
    const federationId = str(federation.doc().federationId)
    const personal = this.repo.create<PersonalDoc>({
      lakou: 'personal/v1',
      venueId: imm(venueId),
      entries: [],
    })
    this.#remember(personal, 'personal')
    const venue = this.repo.create<VenueDoc>({
      lakou: 'venue/v1',
      federationId: imm(federationId),
      venueId: imm(venueId),
      entries: [],
      pages: {},
      personal: imm(personal.url),
      // Created with the doc: two devices creating the list concurrently would keep only one of them.
      config: [],
    })
    this.#remember(venue, 'venue')
    federation.change((d) => {
      d.venues[venueId] = imm(venue.url)
    })
    return venue
  }

  /** Creates page `page` of a device and lists it in the venue's page directory. */
  createPage(venue: DocHandle<VenueDoc>, deviceId: string, page: number): DocHandle<LedgerPageDoc> {
    const venueId = str(venue.doc().venueId)
    const h = this.repo.create<LedgerPageDoc>({
      lakou: 'ledger-page/v1',
      venueId: imm(venueId),
      deviceId: imm(deviceId),
      page,
      records: [],
    })
    const cls = this.#remember(h, 'ledger-page') as Extract<DocClass, { kind: 'ledger-page' }>
    venue.change((d) => {
      const list = d.pages[deviceId] ?? []
      if (!d.pages[deviceId]) d.pages[deviceId] = list
      d.pages[deviceId]!.push(imm(h.url))
    })
    this.#pagesSeen.add(h.documentId)
    this.emit('page', h, cls)
    return h
  }

  /** Appends a signed entry (certificate, catalog item, admission...) to a federation or venue doc. */
  async addEntry(
    handle: DocHandle<FederationDoc | VenueDoc | PersonalDoc>,
    entry: Uint8Array,
  ): Promise<void> {
    handle.change((d) => {
      d.entries.push(entry)
    })
    await this.repo.flush([handle.documentId])
  }

  /** Finds a document, retrying while no peer has it yet (a new device before its first sync). */
  async find<T>(url: AutomergeUrl, options: { attempts?: number } = {}): Promise<DocHandle<T>> {
    const attempts = options.attempts ?? Number.POSITIVE_INFINITY
    for (let i = 0; i < attempts && !this.#stopped; i++) {
      try {
        return await this.repo.find<T>(url)
      } catch {
        await new Promise((r) => setTimeout(r, this.#retryMs))
      }
    }
    throw new DocumentUnavailableError(`${url} is not available locally or from any peer`)
  }

  /**
   * Walks the directory from the federation doc and keeps following it: every venue doc, every ledger
   * page, and the personal doc of the device's own venue. Resolves once the federation doc is found.
   */
  async follow(federationUrl: AutomergeUrl, options: FollowOptions = {}): Promise<DocHandle<FederationDoc>> {
    for (const id of options.skipPages ?? []) this.#markComplete(id as DocumentId)
    const fed = await this.find<FederationDoc>(federationUrl)
    const fedClass = this.#remember(fed, 'federation')
    this.emit('entries', fed, fedClass)
    const onFed = () => {
      for (const url of Object.values(fed.doc().venues ?? {})) void this.#followVenue(asUrl(url), options)
    }
    fed.on('change', onFed)
    onFed()
    return fed
  }

  async #followVenue(url: AutomergeUrl, options: FollowOptions): Promise<void> {
    const id = url.slice('automerge:'.length) as DocumentId
    if (this.#following.has(id)) return
    this.#following.add(id)
    const venue = await this.find<VenueDoc>(url).catch(() => undefined)
    if (!venue || this.#stopped) return
    let cls: DocClass
    try {
      cls = this.#remember(venue, 'venue')
    } catch {
      return
    }
    this.emit('entries', venue, cls)
    const venueId = cls.kind === 'venue' ? cls.venueId : ''
    const wantsPersonal = options.allPersonal || options.ownVenueId === venueId
    const onVenue = () => {
      const doc = venue.doc()
      if (wantsPersonal && doc.personal) void this.#followPersonal(asUrl(doc.personal))
      for (const [deviceId, urls] of Object.entries(doc.pages ?? {}))
        urls.forEach((u, pageNo) => {
          const url = asUrl(u)
          if (!options.skipPages?.has(url.slice('automerge:'.length)))
            this.#followPage(url, pageNo, venueId, deviceId, pageNo < urls.length - 1)
        })
      // After the whole directory is queued, so the lowest page numbers of every device go first.
      this.#pumpPages()
    }
    venue.on('change', onVenue)
    onVenue()
  }

  async #followPersonal(url: AutomergeUrl): Promise<void> {
    const id = url.slice('automerge:'.length) as DocumentId
    if (this.#following.has(id)) return
    this.#following.add(id)
    const h = await this.find<PersonalDoc>(url).catch(() => undefined)
    if (h && !this.#stopped) {
      try {
        this.#remember(h, 'personal')
      } catch {}
    }
  }

  #followPage(url: AutomergeUrl, pageNo: number, venueId: string, deviceId: string, full: boolean): void {
    const id = url.slice('automerge:'.length) as DocumentId
    if (this.#pagesSeen.has(id)) return
    this.#pagesSeen.add(id)
    this.#waitingPages.push({ url, id, pageNo, order: this.#order++, venueId, deviceId, full })
  }

  /** Is this a ledger page the directory names (whether or not it is loaded yet)? */
  namesPage(documentId: DocumentId): boolean {
    return this.#pagesSeen.has(documentId) || this.classify(documentId)?.kind === 'ledger-page'
  }

  /** Pages that came whole from the `fullPages` source (not through the repo). */
  get pagesCameWhole(): number {
    return this.#cameWhole
  }

  /** Pages waiting for a slot in the page window (progress of a catch-up). */
  get pagesWaiting(): number {
    return this.#waitingPages.length
  }

  // Two windows: full pages asked whole, and the others (a device's last page, or every page without a
  // `fullPages` source); each lowest page number first.
  #pumpPages(): void {
    for (const whole of [true, false]) {
      const limit = whole ? this.#wholeWindow : this.#pageWindow
      for (;;) {
        const taken = whole ? this.#wholeSlots.size : this.#slots.size - this.#wholeSlots.size
        if (this.#stopped || taken >= limit) break
        let best = -1
        for (let i = 0; i < this.#waitingPages.length; i++) {
          const w = this.#waitingPages[i]!
          if (this.#asksWhole(w) !== whole) continue
          const b = best < 0 ? undefined : this.#waitingPages[best]!
          if (!b || w.pageNo < b.pageNo || (w.pageNo === b.pageNo && w.order < b.order)) best = i
        }
        if (best < 0) break
        const [next] = this.#waitingPages.splice(best, 1)
        this.#slots.add(next!.id)
        if (whole) this.#wholeSlots.add(next!.id)
        void this.#loadPage(next!)
      }
    }
  }

  #asksWhole(w: WaitingPage): boolean {
    return this.#fullPages !== undefined && w.full
  }

  async #loadPage(w: WaitingPage): Promise<void> {
    // A page held here already (this device's own pages) is not asked of peers, nor is a device's last page
    // (it may still grow: peers answer none, one round trip each, before the repo finds it anyway).
    if (this.#asksWhole(w) && !this.repo.handles[w.id]?.isReady() && (await this.#loadWhole(w))) return
    // A page no peer can give yet (its writer offline) must not hold its slot for ever: the find goes on.
    const timer = setTimeout(() => this.release(w.id), this.#slotTimeoutMs)
    const h = await this.find<LedgerPageDoc>(w.url).catch(() => undefined)
    clearTimeout(timer)
    if (!h || this.#stopped) return this.release(w.id)
    try {
      const cls = this.#remember(h, 'ledger-page') as Extract<DocClass, { kind: 'ledger-page' }>
      this.emit('page', h, cls)
    } catch {}
    // A 'page' listener that indexes the page keeps its slot (retain) until it is done with it.
    if (!this.#retained.has(w.id)) this.release(w.id)
  }

  // A full page straight from the source (no repo handle, no sync round): true when it came.
  async #loadWhole(w: WaitingPage): Promise<boolean> {
    const cls = { kind: 'ledger-page', venueId: w.venueId, deviceId: w.deviceId, page: w.pageNo } as const
    const records = await this.#fullPages!({ documentId: w.id, ...cls }).catch(() => undefined)
    if (!records || this.#stopped) return false
    this.#cameWhole++
    this.learn(w.id, cls)
    this.emit('wholePage', w.id, cls, records)
    if (!this.#retained.has(w.id)) this.indexedWhole(w.id)
    return true
  }

  /** A page that came whole is indexed: its slot goes back, and it counts as full and indexed. */
  indexedWhole(documentId: DocumentId): void {
    this.release(documentId)
    this.#markComplete(documentId)
  }

  /**
   * Called by a 'page' listener during the event: the page keeps its slot in the page window until
   * release() or unload(), so the next pages load only as this one is indexed.
   */
  retain(documentId: DocumentId): void {
    if (this.#slots.has(documentId)) this.#retained.add(documentId)
  }

  /** Gives a page's slot in the page window back (no-op for a page holding none). */
  release(documentId: DocumentId): void {
    this.#retained.delete(documentId)
    this.#wholeSlots.delete(documentId)
    if (this.#slots.delete(documentId)) this.#pumpPages()
  }

  /** Lets an already indexed, full page leave memory; it is reloaded from disk when a peer asks for it. */
  async unload(documentId: DocumentId): Promise<void> {
    const handle = this.repo.handles[documentId]
    const doc = handle?.isReady() ? handle.doc() : undefined
    // Not while a connected peer is still behind on it: the doc's synchronizer goes with the handle, and
    // changes not yet sent to that peer would never be (it asks for a doc once, it holds it already). Seen:
    // a relay kept a writer's full page with no record, so every till catching up through it stalled. The
    // sweep tries again; a peer that never answers holds the page at most UNLOAD_WAIT_MS.
    if (handle && doc && this.#peerBehind(handle)) {
      const since = this.#unloadWaitSince.get(documentId) ?? Date.now()
      this.#unloadWaitSince.set(documentId, since)
      if (Date.now() - since < UNLOAD_WAIT_MS) {
        this.release(documentId)
        this.#markComplete(documentId)
        return
      }
    }
    this.#unloadWaitSince.delete(documentId)
    await this.repo.flush([documentId])
    // automerge-repo 2.5: removeFromCache() unloads the handle, which swaps its doc for an empty one and
    // emits heads-changed; the repo's throttled save then stored that empty doc ~100 ms later, often as a
    // compacting snapshot that removed the page's real chunks from disk (a full page's records lost).
    // The page is flushed above; nothing of it is left to save.
    handle?.removeAllListeners('heads-changed')
    await this.repo.removeFromCache(documentId)
    if (doc) this.#freeLater(doc)
    this.release(documentId)
    this.#markComplete(documentId)
  }

  // Does a connected peer's last sync (automerge-repo's sync info, kept per peer storage id) show other heads
  // than ours? A peer that never synced this doc is not waited for.
  #peerBehind(handle: DocHandle<unknown>): boolean {
    const ours = handle.heads()
    for (const peer of this.repo.peers) {
      const storageId = this.repo.peerMetadataByPeerId[peer]?.storageId
      const theirs = storageId ? handle.getSyncInfo(storageId)?.lastHeads : undefined
      if (theirs && (theirs.length !== ours.length || theirs.some((h) => !ours.includes(h)))) return true
    }
    return false
  }

  // An unloaded doc's WASM memory goes back to automerge's allocator only when V8 collects its small JS
  // wrapper (a FinalizationRegistry), which a till's heap rarely does: 300 pages loaded and let go grew the
  // WASM memory to 96 MB (3.6 MB with free), and WASM memory never shrinks. So it is freed explicitly, after
  // a delay: automerge-repo may still hold the old doc in a throttled save scheduled before the unload
  // (repo saveDebounceRate), and a freed doc there would throw with no one to catch it.
  #freeLater(doc: object): void {
    if (this.#toFree.has(doc)) return
    this.#toFree.add(doc)
    const timer = setTimeout(() => {
      this.#toFree.delete(doc)
      try {
        Automerge.free(doc)
      } catch {
        // already freed through another object of the same doc (two unloads of one page)
      }
    }, this.#freeDelayMs)
    timer.unref?.()
  }

  stop(): void {
    this.#stopped = true
    if (this.#sweepTimer) clearInterval(this.#sweepTimer)
    this.#sweepTimer = undefined
  }
}
