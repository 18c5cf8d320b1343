// A Lakou venue node: libp2p network (sync/net) + automerge-repo on durable disk storage + the document
// layout + the ledger index fed by sync + sync status, with start()/stop(), and appendRecord for the till.
// Signing happens here with the device key from the data dir (mode 0600); browsers never hold it.

import { createHash } from 'node:crypto'
import {
  type AutomergeUrl,
  type DocHandle,
  type DocumentId,
  Repo,
  type PeerId as RepoPeerId,
} from '@automerge/automerge-repo'
import { EventEmitter } from 'eventemitter3'
import { DurableFsStorageAdapter } from '../docs/durable-storage.ts'
import {
  asUrl,
  type DocClass,
  DocStatusBoard,
  type DocSyncStatus,
  DocumentLayout,
  type FeedState,
  FREE_DELAY_MS,
  IndexFeed,
  type IngestOutcome,
  type LedgerPageDoc,
  PageWriter,
  type RecordLocation,
  RecordPush,
  type SyncSummary,
  type VenueDoc,
} from '../docs/mod.ts'
import { type LakouNetwork, type PeerPrincipal, type PeerStatus, startLakouNetwork } from '../net/mod.ts'
import { BulkIngestHeap, collectGarbage } from './catch-up-heap.ts'
import { ChainGossip } from './chain-gossip.ts'
import { ChainSink } from './chain-sink.ts'
import { ChainWal } from './chain-wal.ts'
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint, restoreLedger } from './checkpoint-file.ts'
import { CheckpointSchedule } from './checkpoint-schedule.ts'
import { dataPaths, type NodeConfig, readNodeConfig } from './config.ts'
import { CertificateAuthenticator, localCredentials } from './credentials.ts'
import { NodeNotReadyError } from './errors.ts'
import { loadKey, readIfExists, writeFileDurably } from './files.ts'
import {
  type CardSigner,
  DeviceChainWriter,
  decodeSigned,
  fromHex,
  type Hash,
  type KeyPair,
  LedgerIndex,
  type RecordBody,
  type ResolvedVenueConfig,
  toHex,
  type VenueConfigEntry,
  type VenueConfigSection,
} from './ledger.ts'
import { rebuildLedger } from './ledger-rebuild.ts'
import { LinkResync } from './link-resync.ts'
import { PageFetchPolicy } from './page-fetch-policy.ts'
import { PageTransfer } from './page-transfer.ts'
import { Libp2pPushTransport } from './push-protocol.ts'
import { guardRepoRejections } from './repo-guard.ts'
import { VenueConfigFeed } from './venue-config-feed.ts'
import { VerifyWorkers } from './verify-workers.ts'

export interface VenueNodeOptions {
  dataDir: string
  /** libp2p listen multiaddrs (default TCP + WebSockets on every interface, OS-chosen ports). */
  listen?: string[]
  /** Relay multiaddrs with /p2p/<id>. */
  relays?: string[]
  /** mDNS discovery on the LAN (default true). */
  mdns?: boolean
  /**
   * The ledger's index, fed every new record whose signatures verify (after dedup). Default: a LedgerIndex
   * for the node's federation, saved as a local snapshot with every checkpoint and restored from it on
   * a restart (no signature checked again). Without a usable snapshot, or with an injected index (the node
   * cannot replace it), it is rebuilt from the documents on disk in the background (`ledgerReady`), while
   * sync and selling resume at once from the checkpoint.
   */
  ledger?: LedgerIndex
  /**
   * Checkpoint the index (feed state, sink, ledger snapshot) at most this often while records arrive
   * (default 60 s; one such interval more per 50k records held, checkpoint-schedule.ts) and at stop. A full
   * ledger export is costly at 200k records; after a crash the records newer than the checkpoint come back
   * from their pages through the feed.
   */
  checkpointEveryMs?: number
  /**
   * This device's records enter its page doc in one Automerge change per this interval (default 10 s).
   * Acknowledgement does not wait for it (the chain log holds the record); peers get the record at once
   * through the direct push, after a partition from the push's anti-entropy (chain summaries), and the page
   * follows as the durable and catch-up path (relays, history). Each change costs a sync round on every link
   * of every replica (10 tills: 4.33 ms of CPU per record per till at 1 s, 3.19 at 5 s, before anti-entropy).
   */
  pageFlushMs?: number
  /** automerge-repo's save throttle for every document it changes on sync (default 1000 ms; its own: 100). */
  repoSaveMs?: number
  /** Records per ledger page (default 1000; tests use less). */
  pageCapacity?: number
  /**
   * Cap V8's old-generation growth while records arrive in bulk (catch-up, rebuild): catch-up-heap.ts.
   * Default true. Process-wide (a V8 flag): for a single node per process.
   */
  bulkIngestHeap?: boolean
  /**
   * A new link does not re-sync documents the peer last reported with this node's exact heads
   * (link-resync.ts). Default true; false for A/B measurements.
   */
  skipUnchangedDocs?: boolean
  /**
   * An owned ledger verifies batches (catch-up, rebuild) in worker threads, not one libuv job per signature
   * (verify-workers.ts). Default false for now, unless LAKOU_VERIFY_WORKERS=N (N > 0 workers).
   */
  verifyWorkers?: boolean
  log?: (line: string) => void
}

export interface AppendResult {
  hash: Hash
  bytes: Uint8Array
  deviceSeq: number
  location: RecordLocation
}

export interface VenueNodeEvents {
  /** A record or statement reached the index (from this till, a page synced, or a peer's push). */
  record: (e: { outcome: IngestOutcome; source: 'page' | 'entry' | 'push' }) => void
  'doc:status': (s: DocSyncStatus) => void
  'peer:status': (s: PeerStatus) => void
  /** The venue's resolved configuration changed (an admin's entry arrived, or trust in one changed). */
  'config:changed': (config: ResolvedVenueConfig) => void
}

export interface VenueNode extends EventEmitter<VenueNodeEvents> {
  readonly dataDir: string
  readonly config: NodeConfig
  readonly device: KeyPair
  readonly sink: ChainSink
  /** The ledger index (views: balances, memberships, tickets, forks...). */
  readonly ledger: LedgerIndex
  /** Resolves once the ledger index holds every record stored on disk (immediate on a first start). */
  readonly ledgerReady: Promise<LedgerReady>
  readonly repo: Repo
  readonly layout: DocumentLayout
  readonly network: LakouNetwork
  readonly peerId: string
  /** Multiaddrs others can dial. */
  addresses(): string[]
  /** Signs the next record of this device's chain and resolves once it is on disk (then pushes it). */
  appendRecord(body: RecordBody, cards?: CardSigner[]): Promise<AppendResult>
  /** Appends an already signed record of this device (tests, imports); same durability. */
  appendSigned(bytes: Uint8Array): Promise<RecordLocation>
  /**
   * Signs the next version of a venue config section with this device's key and appends it to the venue
   * doc; resolves once on disk. VenueConfigRejectedError (nothing written) unless this is an admin device.
   */
  appendConfig(section: VenueConfigSection, payload: Uint8Array): Promise<VenueConfigEntry>
  /** The venue's resolved configuration (per section, the valid entry with the highest version). */
  venueConfig(): ResolvedVenueConfig
  /** Re-derives the configuration now (after the ledger learned new statements, for instance). */
  refreshConfig(): Promise<ResolvedVenueConfig>
  status(): { peers: PeerStatus[]; docs: DocSyncStatus[]; summary: SyncSummary; online: boolean }
  /** Where the last appendRecord spent its time up to the push (ms): sign, chain log, push sent. */
  lastAppendTrace(): { signMs: number; logMs: number; pushedMs: number } | undefined
  /** This device's chain head (deviceSeq 0 before its first record; undefined without a venue): the till
   * builds its next record from it to preflight it before any card signs (app/server/record-preflight.ts). */
  deviceHead(): { deviceSeq: number; head: Hash } | undefined
  /**
   * Where createVenueNode spent its time (ms per phase, in order: config, ledgerSnapshot, sinkState,
   * network, repo, documents, deviceChain, venueConfig), and when it began since the process started
   * (module loading before it).
   */
  readonly startup: StartupPhases
  /** Writes the index checkpoint now. */
  checkpoint(): Promise<void>
  /** Resolves when every record handed to the index so far is processed. */
  idle(): Promise<void>
  stop(): Promise<void>
}

/**
 * Who may hold which document: personal data only within its venue; every other doc to any certified peer.
 * A document this node has not classified is one it does not hold yet (a peer announcing its new page):
 * accepting it is what lets that page sync before the directory names it. The node's own personal doc is
 * classified before any such answer (`ready`), so it is never mistaken for an unknown one.
 */
export function documentAccess(
  classify: (id: DocumentId) => DocClass | undefined,
  ready: Promise<unknown>,
): (principal: PeerPrincipal, documentId: DocumentId) => Promise<boolean> {
  const rule = (principal: PeerPrincipal, cls: DocClass) =>
    cls.kind !== 'personal' || (principal.kind === 'device' && principal.venueId === cls.venueId)
  return async (principal, documentId) => {
    let cls = classify(documentId)
    if (!cls) {
      await ready.catch(() => {})
      cls = classify(documentId)
    }
    return cls ? rule(principal, cls) : true
  }
}

/** The chain log is cut back to its last record once it holds this many. */
const WAL_COMPACT_AT = 1000

/** How the ledger index got back every record on disk: restored from its snapshot, or rebuilt. */
export interface LedgerReady {
  source: 'fresh' | 'snapshot' | 'rebuild'
  records: number
  statements: number
  ms: number
}

export async function createVenueNode(options: VenueNodeOptions): Promise<VenueNode> {
  const startup = new StartupClock()
  const paths = dataPaths(options.dataDir)
  const log = options.log ?? ((line: string) => console.error(line))
  const config = await readNodeConfig(options.dataDir)
  // automerge-repo's own uncaught document waits must not end the node (see repo-guard.ts).
  const guard = guardRepoRejections(log)
  const device = await loadKey(paths.deviceKey)
  const deviceHex = toHex(device.publicKey)

  // Index state from the checkpoint, so a restart does not replay every record.
  const federationKey = fromHex(config.federationKey)
  const ownsLedger = !options.ledger
  let cp: Checkpoint | undefined
  let cpBytes = await readIfExists(paths.checkpoint)
  startup.mark('config')
  if (cpBytes) {
    try {
      cp = decodeCheckpoint(cpBytes)
    } catch (e) {
      log(
        `lakou/node: checkpoint unreadable, rebuilding the index from the documents: ${(e as Error).message}`,
      )
    }
  }
  const restoreStarted = performance.now()
  const restored =
    cp && ownsLedger ? await restoreLedger(paths.ledgerSnapshot, cp, federationKey, log) : undefined
  startup.mark('ledgerSnapshot')
  const ledger: LedgerIndex = options.ledger ?? restored ?? new LedgerIndex({ federation: federationKey })
  const verifyWorkers =
    ownsLedger && (options.verifyWorkers ?? Number(process.env.LAKOU_VERIFY_WORKERS ?? 0) > 0)
      ? new VerifyWorkers()
      : undefined
  if (verifyWorkers) ledger.useVerifier(verifyWorkers.verify, verifyWorkers.inFlight)
  const sink = new ChainSink(ledger)
  let feedState: FeedState | undefined
  if (cp) {
    try {
      sink.restore(cp.sink)
      feedState = cp.state
    } catch (e) {
      log(
        `lakou/node: checkpoint unreadable, rebuilding the index from the documents: ${(e as Error).message}`,
      )
    }
  }
  // The checkpoint bytes and the snapshot head read above (~20 MB at 200k records) are garbage now: given
  // back before the repo and network grow, not whenever a full GC comes (catch-up-heap.ts).
  if (cpBytes) {
    cp = undefined
    cpBytes = undefined
    collectGarbage()
  }

  startup.mark('sinkState')
  const revoked = new Set<string>()
  // Set once the repo exists; hellos before that carry nothing (link-resync.ts).
  let linkResync: LinkResync | undefined
  const network = await startLakouNetwork({
    dataDir: options.dataDir,
    ...(options.listen ? { listen: options.listen } : {}),
    ...(options.relays ? { relays: options.relays } : {}),
    mdns: options.mdns ?? true,
    credentials: localCredentials(device, fromHex(config.bundle)),
    authenticator: new CertificateAuthenticator({ federationKey, isRevoked: (d) => revoked.has(d) }),
    helloAttachment: {
      local: () => linkResync?.digest(),
      remote: (peer, bytes) => linkResync?.declared(peer, bytes),
    },
    log,
  })
  sink.onStatement = (bytes) => {
    const d = decodeSigned(bytes)
    if (d.type === 'statement' && d.statement.kind === 'device-revocation')
      revoked.add(toHex(d.statement.device))
  }

  startup.mark('network')
  let layout: DocumentLayout | undefined
  const classified = Promise.withResolvers<void>()
  const storage = new DurableFsStorageAdapter(paths.automerge)
  const repoSaveMs = options.repoSaveMs ?? 1000
  const baseShare = network.shareConfig(documentAccess((id) => layout?.classify(id), classified.promise))
  // Assigned below; the policy is asked only once peers are connected.
  let repoRef: Repo | undefined
  let feedRef: IndexFeed | undefined
  const pageFetch = new PageFetchPolicy({
    allowed: (peer, id) => baseShare.announce(peer, id),
    isPageToFetch: (id) =>
      layout?.namesPage(id) === true &&
      repoRef?.handles[id]?.isReady() !== true &&
      feedRef?.progressOf(id) === undefined,
    isCompletePage: (id) => feedRef?.completePage(id) === true,
    peers: () => repoRef?.peers ?? [],
  })
  const repo = new Repo({
    storage,
    network: [network.adapter],
    peerId: network.host.peerId.toString() as RepoPeerId,
    shareConfig: {
      access: baseShare.access,
      announce: (peer, id) =>
        id === undefined
          ? baseShare.announce(peer)
          : (linkResync?.announce(peer, id) ?? pageFetch.announce(peer, id)),
    },
    // Pages received by sync are saved at most once a second each: a save per sync message was 11% of a
    // festival till's main thread. Own pages are flushed explicitly; a checkpoint flushes before it is
    // written, so what it counts is on disk; anything newer is synced again from the peers.
    saveDebounceRate: repoSaveMs,
  })
  repoRef = repo
  if (options.skipUnchangedDocs !== false)
    linkResync = new LinkResync(repo, (peer, id) => pageFetch.announce(peer, id))
  // Full pages travel whole between nodes (their stored bytes), not through the sync protocol.
  const pageTransfer = new PageTransfer({
    host: network.host,
    access: network.access,
    storage,
    mayHold: (peer, id) => baseShare.access(peer as RepoPeerId, id),
    isCompletePage: (id) => feedRef?.completePage(id) === true,
    ...(options.pageCapacity ? { capacity: options.pageCapacity } : {}),
    log,
  })
  await pageTransfer.start()
  // An unloaded page's doc is freed well after any save automerge-repo throttled before the unload.
  layout = new DocumentLayout(repo, {
    freeDelayMs: Math.max(FREE_DELAY_MS, 3 * repoSaveMs),
    fullPages: pageTransfer.fetch,
  })
  // Classify the own venue's personal doc (held since enrollment) before answering for unknown docs.
  if (config.venueUrl && config.venueId) {
    try {
      const v = await repo.find<VenueDoc>(config.venueUrl as AutomergeUrl)
      const personal = String(v.doc().personal ?? '')
      if (personal)
        layout.learn(personal.slice('automerge:'.length) as DocumentId, {
          kind: 'personal',
          venueId: config.venueId,
        })
      // This till's own last page starts loading now, ahead of the directory's pages: a restart found it
      // behind the loads of every partial page the directory names (0.25-2.6 s of a cold start at 200k
      // records), though selling needs only it. PageWriter.open below gets the same handle.
      const ownLast = v.doc().pages?.[deviceHex]?.at(-1)
      if (ownLast) void repo.find(asUrl(ownLast)).catch(() => {})
    } finally {
      classified.resolve()
    }
  } else classified.resolve()
  const capacity = options.pageCapacity
  const feed = new IndexFeed(layout, sink, feedState, capacity ? { capacity } : {})
  feedRef = feed
  // Pages whose one chosen peer did not deliver them in time are asked of every peer.
  const pageFetchTimer = setInterval(() => {
    if (pageFetch.expire()) repo.shareConfigChanged()
    linkResync?.watch()
  }, 1000)
  pageFetchTimer.unref?.()
  for (const [id, p] of Object.entries(feedState?.pages ?? {})) {
    layout.learn(id as DocumentId, {
      kind: 'ledger-page',
      venueId: p.venueId,
      deviceId: p.deviceId,
      page: p.page,
    })
  }
  const board = new DocStatusBoard()
  const transport = new Libp2pPushTransport(network.host, network.access)
  await transport.start()
  // Anti-entropy over the push: chain summaries on connect and every 15 s, missing records from memory.
  const push = new RecordPush(feed, board, transport, { chains: new ChainGossip(sink) })
  const emitter = new EventEmitter<VenueNodeEvents>()

  feed.on('ingested', (e) => emitter.emit('record', { outcome: e.outcome, source: e.source }))
  const bulkHeap = options.bulkIngestHeap === false ? undefined : new BulkIngestHeap()
  if (bulkHeap) {
    feed.on('ingested', (e) => {
      if (e.outcome === 'applied') bulkHeap.applied()
    })
    bulkHeap.start()
  }
  feed.on('progress', (id, p) => board.indexed(id, p))
  feed.on('error', (e) => log(`lakou/node: index feed: ${e.message}`))
  for (const [id, p] of Object.entries(feedState?.pages ?? {})) board.indexed(id as DocumentId, p)
  board.on('doc:status', (s) => emitter.emit('doc:status', s))
  network.status.on('peer:status', (s) => emitter.emit('peer:status', s))
  // A peer that just passed the handshake learns how far this node is (for its progress bars).
  const offAuth = network.access.on('peer:authenticated', ({ peerId }) => push.announce(peerId))
  layout.on('malformed', (url, reason) => log(`lakou/node: ${url}: ${reason}`))
  // Records written after the checkpoint are in the pages it counts as partly indexed: the ledger is not
  // back until each of those pages has been handed to the feed (feed.idle() alone resolved before a page
  // still loading from disk was even seen).
  const complete = feed.completePages()
  const partialPagesFed = pagesHandedToFeed(
    layout,
    Object.keys(feedState?.pages ?? {}).filter((id) => !complete.has(id)),
    PARTIAL_PAGES_WAIT_MS,
    log,
  )
  feed.start()

  startup.mark('repo')
  await layout.follow(config.federationUrl as AutomergeUrl, {
    ...(config.venueId ? { ownVenueId: config.venueId } : {}),
    skipPages: complete,
  })

  // After a restart from a checkpoint, the sync-level index is back at once. The ledger index was restored
  // from its snapshot (records newer than the checkpoint come from their pages through the feed, started
  // above); without one it is rebuilt from the documents on disk in the background (statements first,
  // then page by page).
  const ledgerReady: Promise<LedgerReady> =
    restored && feedState
      ? partialPagesFed
          .then(() => feed.idle())
          .then(() => {
            const c = restored.counts()
            return {
              source: 'snapshot' as const,
              records: c.valid + c.pending + c.rejected,
              statements: c.statements,
              ms: performance.now() - restoreStarted,
            }
          })
      : feedState
        ? rebuildLedger(repo, ledger, feedState, {
            federationUrl: config.federationUrl as AutomergeUrl,
            storage,
          }).then((r) => ({ source: 'rebuild' as const, ...r }))
        : Promise.resolve({ source: 'fresh' as const, records: 0, statements: 0, ms: 0 })
  // Until the ledger holds every record the checkpoint counts, a snapshot of it would lose the rest.
  let ledgerComplete = false
  ledgerReady.then(
    () => {
      ledgerComplete = true
    },
    (e) => log(`lakou/node: ledger rebuild failed: ${(e as Error).message}`),
  )

  // The till's own page writer and device chain (relays have no venue and write nothing).
  startup.mark('documents')
  let venue: DocHandle<VenueDoc> | undefined
  let writer: PageWriter | undefined
  let chain: DeviceChainWriter | undefined
  let wal: ChainWal | undefined
  if (config.venueUrl) {
    venue = await layout.find<VenueDoc>(config.venueUrl as AutomergeUrl)
    writer = await PageWriter.open(layout, venue, deviceHex, {
      ...(capacity ? { capacity } : {}),
      flushMs: options.pageFlushMs ?? 10_000,
    })
    const opened = await ChainWal.open(paths.chainLog)
    wal = opened.wal
    chain = await resumeChain(device, writer, opened.records, log)
  }

  startup.mark('deviceChain')
  // The venue's signed configuration; re-derived when the venue doc changes or statements arrive.
  let venueConfig: VenueConfigFeed | undefined
  if (venue && config.venueId) {
    const venueHandle = venue
    venueConfig = new VenueConfigFeed({
      venue: venueHandle,
      venueKey: fromHex(config.venueId),
      device,
      trust: ledger,
      flush: () => repo.flush([venueHandle.documentId]),
      log,
    })
    venueConfig.on('changed', (c) => emitter.emit('config:changed', c))
    feed.on('ingested', (e) => {
      if (e.source === 'entry') void venueConfig?.refresh().catch(() => {})
    })
    void ledgerReady.then(() => venueConfig?.refresh()).catch(() => {})
    await venueConfig.start()
  }
  startup.mark('venueConfig')
  const configOnly = () => {
    if (!venueConfig) throw new NodeNotReadyError('this node has no venue: it has no venue configuration')
    return venueConfig
  }

  // Appends are serialised up to the moment the record is in the page doc (sign -> log -> page -> push);
  // their flushes to disk overlap, and each append resolves once its own record is flushed.
  let queue: Promise<unknown> = Promise.resolve()
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn)
    queue = next.catch(() => {})
    return next
  }
  const pageOnly = () => {
    if (!writer || !venue) throw new NodeNotReadyError('this node has no venue: it cannot write records')
    return { writer, venue }
  }
  // The push leaves as soon as the record's place in the page is known, before the page doc change: that
  // change starts automerge-repo's sync work on both ends, and a push sent after it reached the peer just
  // as the peer's main thread got busy applying the CRDT message (measured: +10 ms at 1 tx/s). The own
  // ledger gets the record at the same moment (the page batch brings it again, a duplicate).
  const stage = (
    bytes: Uint8Array,
    onPushed?: () => void,
  ): {
    located: Promise<RecordLocation>
    ingested: Promise<IngestOutcome>
    stored: Promise<RecordLocation>
  } => {
    const { writer } = pageOnly()
    const located = Promise.withResolvers<RecordLocation>()
    let ingested: Promise<IngestOutcome> = Promise.resolve('pending')
    const stored = writer.append(bytes, (location) => {
      push.send(location.pageUrl.slice('automerge:'.length) as DocumentId, location.index, bytes)
      onPushed?.()
      ingested = feed.push(bytes)
      located.resolve(location)
    })
    stored.catch((e) => located.reject(e))
    return { located: located.promise, ingested: located.promise.then(() => ingested), stored }
  }
  let lastTrace: { signMs: number; logMs: number; pushedMs: number } | undefined

  const appendRecord = async (body: RecordBody, cards: CardSigner[] = []): Promise<AppendResult> => {
    const { signed, staged } = await serial(async () => {
      if (!chain || !wal || stopped) throw new NodeNotReadyError('node is stopped or has no device chain')
      pageOnly()
      const before = { deviceSeq: chain.deviceSeq, head: chain.head }
      const t0 = performance.now()
      const signed = await chain.append(body, cards)
      const tSigned = performance.now()
      try {
        if (wal.entries >= WAL_COMPACT_AT) {
          await writer!.settled()
          await wal.compact(writer!.lastRecord()!)
        }
        await wal.append(signed.bytes)
      } catch (e) {
        chain = new DeviceChainWriter(device, before) // not logged: as if never signed
        throw e
      }
      const tLogged = performance.now()
      const staged = stage(signed.bytes, () => {
        lastTrace = { signMs: tSigned - t0, logMs: tLogged - tSigned, pushedMs: performance.now() - t0 }
      })
      return { signed, staged }
    })
    // Acknowledged once in the chain log (fdatasync'ed above) and in this till's ledger; the page batch is
    // written within pageFlushMs (a failure there is logged: the chain log keeps the record for a restart).
    staged.stored.catch((e) => log(`lakou/node: page write failed: ${(e as Error).message}`))
    const location = await staged.located
    await staged.ingested.catch(() => {})
    return { hash: signed.hash, bytes: signed.bytes, deviceSeq: signed.record.deviceSeq, location }
  }

  let checkpointing: Promise<void> | undefined
  const checkpoint = async () => {
    if (checkpointing) return checkpointing
    checkpointing = (async () => {
      // the export's buffers land on a collected heap, not on top of a minute of sales' garbage
      collectGarbage()
      const { state, snapshot } = await feed.checkpointParts()
      // Received pages are saved lazily (repoSaveMs): what the state counts must be on disk before it.
      await flushReadyHandles(repo)
      const file: Parameters<typeof encodeCheckpoint>[0] = { state, sink: snapshot }
      // Taken after the feed state (so it holds all the state counts) and written before the checkpoint
      // that names it.
      if (ownsLedger && ledgerComplete) {
        // written part by part (no 50+ MB single buffer at 200k records), hashed by Node's SHA-256
        const parts = ledger.exportSnapshotParts(() => createHash('sha256'))
        await writeFileDurably(paths.ledgerSnapshot, parts)
        file.ledgerTrailer = toHex(parts.at(-1)!)
      }
      await writeFileDurably(paths.checkpoint, encodeCheckpoint(file))
    })().finally(() => {
      checkpointing = undefined
      // the export's buffers (~20 MB at 200k records), once this function's frame let them go
      collectGarbage()
    })
    return checkpointing
  }
  let dirty = false
  feed.on('ingested', () => {
    dirty = true
  })
  // spaced by the history's size, jittered per node, put off while this node serves a peer's catch-up or
  // ingests in bulk (checkpoint-schedule.ts): a checkpoint exports everything
  const schedule = new CheckpointSchedule({ baseMs: options.checkpointEveryMs ?? 60_000 })
  let servedBefore = pageTransfer.stats.served
  const timer = setInterval(() => {
    const serving = pageTransfer.stats.served !== servedBefore
    servedBefore = pageTransfer.stats.served
    if (!dirty || !schedule.due(sink.size, serving || bulkHeap?.inBulk === true)) return
    schedule.written()
    dirty = false
    checkpoint().catch((e) => log(`lakou/node: checkpoint failed: ${(e as Error).message}`))
  }, schedule.checkEveryMs)

  let stopped = false
  const node = Object.assign(emitter, {
    dataDir: options.dataDir,
    config,
    device,
    sink,
    ledger,
    ledgerReady,
    startup: startup.phases(),
    repo,
    layout,
    network,
    peerId: network.host.peerId.toString(),
    addresses: () => network.addresses(),
    appendRecord,
    appendSigned: (bytes: Uint8Array) =>
      serial(async () => ({ staged: stage(bytes) })).then((r) => {
        r.staged.stored.catch(() => {})
        return r.staged.located
      }),
    appendConfig: (section: VenueConfigSection, payload: Uint8Array) => configOnly().append(section, payload),
    venueConfig: () => venueConfig?.current() ?? { sections: {}, rejected: [], superseded: 0 },
    refreshConfig: () => configOnly().refresh(),
    status: () => {
      const peers = network.status.all()
      return {
        peers,
        docs: board.all(),
        summary: board.summary(),
        online: peers.some((p) => p.connected && p.authenticated),
      }
    },
    checkpoint,
    lastAppendTrace: () => lastTrace,
    deviceHead: () => (chain ? { deviceSeq: chain.deviceSeq, head: chain.head } : undefined),
    idle: () => feed.idle(),
    async stop() {
      if (stopped) return
      stopped = true
      clearInterval(timer)
      clearInterval(pageFetchTimer)
      bulkHeap?.stop()
      venueConfig?.stop()
      await queue
      await writer?.close()
      await wal?.close()
      await feed.idle()
      await checkpoint()
      offAuth()
      push.stop()
      await transport.stop()
      await pageTransfer.stop()
      feed.stop()
      await verifyWorkers?.stop()
      layout?.stop()
      board.stop()
      // Not repo.shutdown(): it flushes every handle, and throws on one still being looked for.
      await flushReadyHandles(repo)
      await network.stop()
      guard.release()
    },
  })
  return node as VenueNode
}

export interface StartupPhases {
  /** performance.now() when createVenueNode was called (time since the process started: module loading). */
  beganMs: number
  phases: Record<string, number>
  totalMs: number
}

/** Times the phases of a start (ms each), so a cold start's cost can be read off (bench/festival). */
class StartupClock {
  readonly #began = performance.now()
  #last = this.#began
  readonly #phases: Record<string, number> = {}

  mark(phase: string): void {
    const now = performance.now()
    this.#phases[phase] = Math.round((now - this.#last) * 10) / 10
    this.#last = now
  }

  phases(): StartupPhases {
    return {
      beganMs: Math.round(this.#began),
      phases: { ...this.#phases },
      totalMs: Math.round(this.#last - this.#began),
    }
  }
}

/** Saves every loaded, ready document (a handle still looked for would make repo.flush throw). */
async function flushReadyHandles(repo: Repo): Promise<void> {
  const ready = Object.values(repo.handles).filter((h) => h.isReady())
  await repo.flush(ready.map((h) => h.documentId))
}

// The device chain continues after the newest record of the page and of the write-ahead log. Logged records
// newer than the page were signed but not yet in the page at the crash: they are stored now, in order.
async function resumeChain(
  device: KeyPair,
  writer: PageWriter,
  logged: Uint8Array[],
  log: (line: string) => void,
): Promise<DeviceChainWriter> {
  const position = (bytes: Uint8Array | undefined) => {
    if (!bytes) return { deviceSeq: 0, head: new Uint8Array(32) }
    const d = decodeSigned(bytes)
    if (d.type !== 'record') throw new NodeNotReadyError('the chain log holds something that is not a record')
    return { deviceSeq: d.record.deviceSeq, head: d.hash }
  }
  let at = position(writer.lastRecord())
  const recovered: Array<Promise<unknown>> = []
  for (const bytes of logged) {
    const p = position(bytes)
    if (p.deviceSeq <= at.deviceSeq) continue
    log(`lakou/node: recovering record ${p.deviceSeq} from the chain log`)
    recovered.push(writer.append(bytes))
    at = p
  }
  await writer.settled()
  await Promise.all(recovered)
  return new DeviceChainWriter(device, at)
}

/** How long a restart waits for a partly indexed page to load from disk before it reports the ledger back. */
const PARTIAL_PAGES_WAIT_MS = 30_000

/**
 * Resolves once the layout has announced every listed page (the feed's listener queues the page's records
 * in the same event, before anything awaiting this promise runs), or after `waitMs`, logging the pages
 * that never came.
 */
function pagesHandedToFeed(
  layout: DocumentLayout,
  pageIds: string[],
  waitMs: number,
  log: (line: string) => void,
): Promise<void> {
  const waiting = new Set(pageIds)
  if (waiting.size === 0) return Promise.resolve()
  const { promise, resolve } = Promise.withResolvers<void>()
  const onPage = (h: DocHandle<LedgerPageDoc>) => {
    waiting.delete(h.documentId)
    if (waiting.size === 0) done()
  }
  const timer = setTimeout(() => {
    log(
      `lakou/node: ${waiting.size} partly indexed page(s) not loaded after ${waitMs} ms: ${[...waiting].join(', ')}`,
    )
    done()
  }, waitMs)
  timer.unref?.()
  function done(): void {
    clearTimeout(timer)
    layout.off('page', onPage)
    resolve()
  }
  layout.on('page', onPage)
  return promise
}
