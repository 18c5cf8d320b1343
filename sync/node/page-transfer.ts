// A full ledger page goes to a till catching up as the bytes it is stored as, not through automerge-repo's
// sync protocol. A full page never changes again, so its stored chunks are the page. Through the sync
// protocol every serving till loaded each page from disk into Automerge and generated a sync message of its
// 1,000 changes (a 200k catch-up from three tills: ~7.5 s of CPU on each of them, loadIncremental alone
// half of it), and the fresh till applied the message, then saved the doc again. Here the serving till
// reads the files and sends them; the fresh till loads them once to read the records (its own ledger checks
// every one), stores the same bytes as the page's snapshot (so it serves the page afterwards like any
// replica), and never holds a repo handle for it. A page no peer sends whole (not full yet, or peers that do
// not speak this protocol: relays, older nodes) comes through the sync protocol as before.
//
// Protocol `/lakou/ledger-page/1.0.0`, one request per stream: the asking side sends a CBOR frame
// `{ id: documentId }`, the answering side one frame `{ bytes }` (the stored chunks, snapshot first) or
// `{ none: true }` (not a full page it has indexed, or one this peer may not hold), then closes.
import { cbor, type DocumentId, type StorageAdapterInterface } from '@automerge/automerge-repo'
import type { Libp2p, Stream } from '@libp2p/interface'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import type { FullPageRequest } from '../docs/mod.ts'
import { PAGE_CAPACITY } from '../docs/schema.ts'
import { DEFAULT_MAX_FRAME_BYTES, FrameWriter, readFrames } from '../net/frames.ts'
import {
  MalformedFrameError,
  type PeerAccess,
  PeerNotAuthenticatedError,
  preferredConnection,
} from '../net/mod.ts'
import { bytesEqual, decodeSignedHeader, fromHex, verifySignatures } from './ledger.ts'
import { PageReader } from './page-reader.ts'
import { loadStoredDoc } from './stored-page.ts'

export { readWholePage } from './page-reader.ts'

export const PAGE_TRANSFER_PROTOCOL = '/lakou/ledger-page/1.0.0'
const MAX_REQUEST_BYTES = 1024

/**
 * A page sent whole is not the full page the directory names: it does not load, names another venue,
 * device or page, does not hold exactly a full page of that device's chain, or its chain is not signed by
 * the device. It is not stored, and the page is asked of another peer.
 */
export class WholePageRefusedError extends Error {
  override name = 'WholePageRefusedError'
}

export interface PageTransferOptions {
  host: Libp2p
  access: PeerAccess
  /** The repo's storage: pages are served from it and fetched pages are stored in it. */
  storage: StorageAdapterInterface
  /** May this peer hold this document (the share policy's access rule)? */
  mayHold(peerId: string, documentId: DocumentId): Promise<boolean>
  /** Is this a full ledger page this node has indexed (so its stored chunks are the whole page)? */
  isCompletePage(documentId: DocumentId): boolean
  /** Records in a full page (default PAGE_CAPACITY). */
  capacity?: number
  /** How long one peer may take to answer before the next is asked (default 10 s). */
  timeoutMs?: number
  /** Load pages sent whole in a worker thread (default false, or LAKOU_PAGE_WORKER=1; PageReader). */
  pageWorker?: boolean
  log?: (line: string) => void
}

export class PageTransfer {
  readonly #o: PageTransferOptions
  readonly #capacity: number
  readonly #timeoutMs: number
  readonly #reader: PageReader
  // Requests made of each peer (the least asked goes first), and peers that do not speak the protocol.
  readonly #asked = new Map<string, number>()
  readonly #mute = new Set<string>()
  // Peers that sent a page that is not the one asked for: asked after every other peer from then on.
  readonly #distrusted = new Set<string>()
  /**
   * Pages served whole / not served / fetched whole / asked of a peer that did not send them / sent but
   * refused here (WholePageRefusedError).
   */
  readonly stats = { served: 0, refused: 0, fetched: 0, missed: 0, badPages: 0 }

  constructor(options: PageTransferOptions) {
    this.#o = options
    this.#capacity = options.capacity ?? PAGE_CAPACITY
    this.#timeoutMs = options.timeoutMs ?? 10_000
    this.#reader = new PageReader(options.pageWorker === undefined ? {} : { worker: options.pageWorker })
  }

  async start(): Promise<void> {
    await this.#o.host.handle(
      PAGE_TRANSFER_PROTOCOL,
      (stream, connection) => void this.#serve(stream, connection.remotePeer.toString()),
      { runOnLimitedConnection: true, maxInboundStreams: 8 },
    )
  }

  async stop(): Promise<void> {
    await this.#o.host.unhandle(PAGE_TRANSFER_PROTOCOL).catch(() => {})
    await this.#reader.stop()
  }

  /** Pages loaded in the worker thread / on the main thread. */
  get pagesRead(): { inWorker: number; inThread: number } {
    return { ...this.#reader.stats }
  }

  async #serve(stream: Stream, peerId: string): Promise<void> {
    try {
      await this.#o.access.whenAuthenticated(peerId)
    } catch {
      this.#o.access.drop(peerId, new PeerNotAuthenticatedError('page request without a passed handshake'))
      stream.abort(new Error('not authenticated'))
      return
    }
    // A peer that opens a stream and says nothing must not hold it (inbound streams are few per connection).
    const silent = setTimeout(() => stream.abort(new Error('no page request in time')), this.#timeoutMs)
    try {
      const first = await readFrames(stream, MAX_REQUEST_BYTES).next()
      clearTimeout(silent)
      if (first.done) return void stream.abort(new Error('no request'))
      let id: unknown
      try {
        id = (cbor.decode(first.value) as { id?: unknown } | null)?.id
      } catch {}
      if (typeof id !== 'string' || id.length === 0 || id.length > 100) {
        this.#o.access.drop(peerId, new MalformedFrameError('page request is not { id }'))
        return void stream.abort(new Error('malformed request'))
      }
      const documentId = id as DocumentId
      const bytes =
        this.#o.isCompletePage(documentId) && (await this.#o.mayHold(peerId, documentId))
          ? await loadStoredDoc(this.#o.storage, documentId)
          : undefined
      if (bytes) this.stats.served++
      else this.stats.refused++
      await new FrameWriter(stream).write(cbor.encode(bytes ? { bytes } : { none: true }))
      await stream.close().catch(() => {})
    } catch (err) {
      clearTimeout(silent)
      this.#o.log?.(`lakou/node: page request from ${peerId} failed: ${(err as Error).message}`)
      stream.abort(err as Error)
    }
  }

  /**
   * The layout's source of full pages (DocumentLayout option `fullPages`): the page's records once it is
   * stored here, or undefined when no connected peer sends it whole (it then comes through sync).
   */
  readonly fetch = async (want: FullPageRequest): Promise<Uint8Array[] | undefined> => {
    // A page on disk already (a restart in the middle of a catch-up) is loaded from there, through the repo.
    if ((await this.#o.storage.loadRange([want.documentId, 'snapshot'])).length > 0) return undefined
    if ((await this.#o.storage.loadRange([want.documentId, 'incremental'])).length > 0) return undefined
    const peers = this.#o.access
      .authenticatedPeers()
      .filter((p) => !this.#mute.has(p))
      .sort(
        (a, b) =>
          Number(this.#distrusted.has(a)) - Number(this.#distrusted.has(b)) ||
          (this.#asked.get(a) ?? 0) - (this.#asked.get(b) ?? 0),
      )
    for (const peer of peers) {
      this.#asked.set(peer, (this.#asked.get(peer) ?? 0) + 1)
      const bytes = await this.#ask(peer, want.documentId).catch((e: Error) => {
        if (e.name === 'UnsupportedProtocolError') this.#mute.add(peer)
        return undefined
      })
      const records =
        bytes &&
        (await this.#keep(want, bytes).catch((e: Error) => {
          if (e.name !== 'WholePageRefusedError') throw e
          this.stats.badPages++
          this.#distrusted.add(peer)
          this.#o.log?.(`lakou/node: page ${want.documentId} from ${peer} refused: ${e.message}`)
          return undefined
        }))
      if (records) {
        this.stats.fetched++
        return records
      }
      this.stats.missed++
    }
    return undefined
  }

  async #ask(peer: string, documentId: DocumentId): Promise<Uint8Array | undefined> {
    const connection = preferredConnection(this.#o.host, peer)
    if (!connection) return undefined
    const signal = AbortSignal.timeout(this.#timeoutMs)
    const stream = await connection.newStream(PAGE_TRANSFER_PROTOCOL, {
      runOnLimitedConnection: true,
      signal,
    })
    const onAbort = () => stream.abort(new Error('page request timed out'))
    signal.addEventListener('abort', onAbort)
    try {
      await new FrameWriter(stream, MAX_REQUEST_BYTES).write(cbor.encode({ id: documentId }))
      const answer = await readFrames(stream, DEFAULT_MAX_FRAME_BYTES).next()
      await stream.close().catch(() => {})
      if (answer.done) return undefined
      const m = cbor.decode(answer.value) as { bytes?: unknown } | null
      return m?.bytes instanceof Uint8Array ? m.bytes : undefined
    } catch (err) {
      stream.abort(err as Error)
      throw err
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  // The page as sent must be the full page the directory names (readWholePage), its records that page of
  // the device's chain (checkPageChain). The same bytes are then stored as its snapshot, before the feed
  // may count the page as indexed: a restart skips loading full indexed pages, so they must be on disk.
  async #keep(want: FullPageRequest, bytes: Uint8Array): Promise<Uint8Array[]> {
    const page = await this.#reader.read(bytes, want, this.#capacity)
    if (!page) throw new WholePageRefusedError('not the full page the directory names')
    await checkPageChain(page.records, want, this.#capacity)
    await this.#o.storage.save(snapshotKey(want.documentId, page.heads), bytes)
    return page.records
  }
}

/**
 * Throws WholePageRefusedError unless `records` are exactly page `want.page` of device `want.deviceId`'s
 * chain: its records at deviceSeq page x capacity + 1 .. (page + 1) x capacity in order, each naming the
 * previous one's hash as devicePrev, and the last one's signatures valid. The device's signature on the
 * last record covers its devicePrev, which is the hash of the record before, and so on: one verification
 * (not a thousand) ties every record of the page to the device's key. Why: a page counted as full and
 * indexed is never fetched again, so a forged or shuffled page (records of another page, records dropped)
 * would leave the fresh till without the genuine records for good. Every record is still validated by the
 * ledger; this only decides whether these bytes may stand for the page.
 */
export async function checkPageChain(
  records: Uint8Array[],
  want: Pick<FullPageRequest, 'deviceId' | 'page'>,
  capacity: number = PAGE_CAPACITY,
): Promise<void> {
  let device: Uint8Array
  try {
    device = fromHex(want.deviceId)
  } catch {
    throw new WholePageRefusedError(`device id ${want.deviceId.slice(0, 16)} is not a key`)
  }
  if (records.length !== capacity)
    throw new WholePageRefusedError(`${records.length} records, a full page holds ${capacity}`)
  const firstSeq = want.page * capacity + 1
  let prev: Uint8Array | undefined
  for (let i = 0; i < records.length; i++) {
    // the header only (no body decode): the ledger decodes and checks every record in full
    let r: ReturnType<typeof decodeSignedHeader>
    try {
      r = decodeSignedHeader(records[i]!)
    } catch (e) {
      throw new WholePageRefusedError(`record ${i} does not decode: ${(e as Error).message}`)
    }
    if (r.type !== 'record') throw new WholePageRefusedError(`item ${i} is not a record`)
    if (!bytesEqual(r.device, device)) throw new WholePageRefusedError(`record ${i} is another device's`)
    if (r.deviceSeq !== firstSeq + i)
      throw new WholePageRefusedError(`record ${i} has deviceSeq ${r.deviceSeq}, not ${firstSeq + i}`)
    if (prev && !bytesEqual(r.devicePrev, prev))
      throw new WholePageRefusedError(`record ${i} does not follow record ${i - 1}`)
    prev = r.hash
  }
  if (!(await verifySignatures(records[records.length - 1]!)))
    throw new WholePageRefusedError('the last record is not signed by its device')
}

/**
 * automerge-repo's storage key for a snapshot of these heads (storage/keyHash.ts headsHash): its own
 * compaction then recognises the chunk as the snapshot of the same heads.
 */
export function snapshotKey(documentId: DocumentId, heads: string[]): [DocumentId, 'snapshot', string] {
  const enc = new TextEncoder()
  const parts = heads.map((h) => enc.encode(h))
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    all.set(p, at)
    at += p.length
  }
  return [documentId, 'snapshot', bytesToHex(sha256(all))]
}
