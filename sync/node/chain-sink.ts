// A RecordSink that checks what sync itself must know, independent of the ledger's views: the signatures
// verify, each record counts once (by content hash), and per device the chain has no fork (two records with
// the same deviceSeq and different hashes) and no gap. The ledger's LedgerIndex, when given, receives every
// new valid record after these checks and owns all other rules and views.
import { createHash } from 'node:crypto'
import type { IngestOutcome, RecordSink } from '../docs/mod.ts'
import { stamp } from '../docs/stage-trace.ts'
import { HashStore, SeqColumn } from './hash-store.ts'
import {
  bytesEqual,
  decodeSignedHeader,
  fromHex,
  type SignedHeader,
  toHex,
  verifySignatures,
} from './ledger.ts'
import { decodeSinkSnapshot, encodeSinkSnapshot, encodeSinkSnapshotParts } from './sink-snapshot.ts'

/** deviceSeq -> record hash (hex) of one device chain, read-only (kept as raw bytes in the sink's store). */
export class ChainSeqs {
  readonly column = new SeqColumn()
  readonly #store: HashStore

  constructor(store: HashStore) {
    this.#store = store
  }

  get size(): number {
    return this.column.size
  }

  get(seq: number): string | undefined {
    const i = this.column.get(seq)
    return i === undefined ? undefined : toHex(this.#store.at(i))
  }

  has(seq: number): boolean {
    return this.column.get(seq) !== undefined
  }

  *keys(): IterableIterator<number> {
    for (const [seq] of this.column.entries()) yield seq
  }

  *[Symbol.iterator](): IterableIterator<[number, string]> {
    for (const [seq, i] of this.column.entries()) yield [seq, toHex(this.#store.at(i))]
  }
}

export interface DeviceChainState {
  /** deviceSeq -> record hash (hex). */
  seqs: ChainSeqs
  forks: number[]
}

/** The ledger's verdict on one item (the ledger's IngestResult has this shape). */
export interface LedgerVerdict {
  type?: string
  status: string
  error?: Error & { rule?: string }
}

/** What the ledger index must offer to be fed by sync (the ledger's LedgerIndex does). */
export interface LedgerIngest {
  ingest(bytes: Uint8Array, options?: LedgerIngestOptions): Promise<LedgerVerdict>
  ingestMany?(batch: Uint8Array[], options?: LedgerIngestOptions): Promise<LedgerVerdict[]>
}

/**
 * keepMalformed: false, the sink's own: bytes whose body does not decode are counted by the sink (the
 * ledger's IngestOptions), not kept by the ledger each time a peer or a page replay sends them again.
 */
export interface LedgerIngestOptions {
  keepMalformed?: boolean
}
const SINK_INGEST: LedgerIngestOptions = { keepMalformed: false }

// The ledger verifies every signature it ingests; checking them here as well cost a second WebCrypto
// round trip through the thread pool per record (half of a push's latency on a loaded machine). So with a
// ledger, its verdict says whether the signatures hold: only a signature failure or undecodable bytes.
const SIGNATURE_RULES = new Set(['signature', 'card-signature'])
function signaturesFailed(v: LedgerVerdict): boolean {
  return v.type === 'malformed' || (v.status === 'rejected' && SIGNATURE_RULES.has(v.error?.rule ?? ''))
}

// Without a ledger the sink's own verdict: the sink reads only the header, so bytes whose body does not
// decode are refused here (verifySignatures decodes them whole and throws).
function signaturesHold(bytes: Uint8Array): Promise<boolean> {
  return verifySignatures(bytes).catch(() => false)
}

export class ChainSink implements RecordSink {
  // every applied hash (records, forked records, statements), 32 raw bytes each
  readonly #hashes = new HashStore()
  readonly devices = new Map<string, DeviceChainState>()
  readonly statements = new Set<string>()
  rejected = 0
  readonly #ledger: LedgerIngest | undefined
  /** Called for every new valid statement (certificates, admissions, revocations). */
  onStatement?: (bytes: Uint8Array) => void
  /**
   * Called for every new valid record, once it is applied (latency measurements, app notifications);
   * `fromBatch`: it came in a page batch (ingestMany: history, catch-up), not one by one (push, own record).
   */
  onRecord?: (hashHex: string, bytes: Uint8Array, fromBatch?: boolean) => void

  constructor(ledger?: LedgerIngest) {
    this.#ledger = ledger
  }

  get size(): number {
    return this.#hashes.size
  }

  has(hashHex: string): boolean {
    return /^[0-9a-f]{64}$/.test(hashHex) && this.#hashes.has(fromHex(hashHex))
  }

  async ingest(bytes: Uint8Array): Promise<IngestOutcome> {
    stamp('dequeued')
    let d: SignedHeader
    try {
      d = decodeSignedHeader(bytes)
    } catch {
      this.rejected++
      return 'rejected'
    }
    if (this.#hashes.has(d.hash)) {
      // Statements are few and the ledger index may be rebuilding after a restart: it gets them again
      // (it deduplicates), so records waiting for a certificate are not left pending.
      if (d.type === 'statement') await this.#ledger?.ingest(bytes, SINK_INGEST)
      return 'duplicate'
    }
    const ok = this.#ledger
      ? await this.#ledgerSaysValid(bytes, await this.#ledger.ingest(bytes, SINK_INGEST))
      : await signaturesHold(bytes)
    stamp('ledger')
    if (this.#hashes.has(d.hash)) return 'duplicate' // the same record came in meanwhile (rebuild, page)
    if (!ok) {
      this.rejected++
      return 'rejected'
    }
    this.#apply(d, bytes)
    if (d.type === 'record') this.onRecord?.(toHex(d.hash), bytes, false)
    return 'applied'
  }

  // A 'duplicate' from the ledger for a hash this sink has not applied means the ledger holds (or is still
  // verifying, during a rebuild) another copy of the same content: these bytes' own signatures are then
  // checked here, so a forged copy is never counted on the strength of the genuine one.
  async #ledgerSaysValid(bytes: Uint8Array, verdict: LedgerVerdict): Promise<boolean> {
    if (verdict.status === 'duplicate') return signaturesHold(bytes)
    return !signaturesFailed(verdict)
  }

  /** Same as ingest() for a batch (a page on catch-up): signatures verified concurrently, one ledger batch. */
  async ingestMany(batch: Uint8Array[]): Promise<IngestOutcome[]> {
    const outcomes: IngestOutcome[] = new Array(batch.length)
    const fresh: Array<{ i: number; d: SignedHeader }> = []
    const inBatch = new Set<string>()
    const statementDups: Uint8Array[] = []
    batch.forEach((bytes, i) => {
      let d: SignedHeader
      try {
        d = decodeSignedHeader(bytes)
      } catch {
        this.rejected++
        outcomes[i] = 'rejected'
        return
      }
      const hash = Buffer.from(d.hash.buffer, d.hash.byteOffset, d.hash.length).toString('latin1')
      if (inBatch.has(hash) || this.#hashes.has(d.hash)) {
        if (d.type === 'statement') statementDups.push(bytes)
        outcomes[i] = 'duplicate'
        return
      }
      inBatch.add(hash)
      fresh.push({ i, d })
    })
    let ok: boolean[]
    const ledger = this.#ledger
    if (ledger) {
      const items = [...statementDups, ...fresh.map(({ i }) => batch[i]!)]
      const verdicts = ledger.ingestMany
        ? await ledger.ingestMany(items, SINK_INGEST)
        : await Promise.all(items.map((b) => ledger.ingest(b, SINK_INGEST)))
      // #ledgerSaysValid without a promise per record (a catch-up batch is thousands): only a ledger
      // 'duplicate' needs these bytes' own signatures checked
      ok = new Array(fresh.length)
      const rechecks: Promise<void>[] = []
      fresh.forEach(({ i }, k) => {
        const verdict = verdicts[statementDups.length + k]!
        if (verdict.status === 'duplicate')
          rechecks.push(
            signaturesHold(batch[i]!).then((holds) => {
              ok[k] = holds
            }),
          )
        else ok[k] = !signaturesFailed(verdict)
      })
      if (rechecks.length > 0) await Promise.all(rechecks)
    } else ok = await Promise.all(fresh.map(({ i }) => signaturesHold(batch[i]!)))
    fresh.forEach(({ i, d }, k) => {
      if (this.#hashes.has(d.hash)) {
        outcomes[i] = 'duplicate'
        return
      }
      if (!ok[k]) {
        this.rejected++
        outcomes[i] = 'rejected'
        return
      }
      this.#apply(d, batch[i]!)
      outcomes[i] = 'applied'
    })
    if (this.onRecord)
      for (const { i, d } of fresh)
        if (outcomes[i] === 'applied' && d.type === 'record') this.onRecord(toHex(d.hash), batch[i]!, true)
    return outcomes
  }

  #apply(d: SignedHeader, bytes: Uint8Array): void {
    const index = this.#hashes.add(d.hash)
    if (d.type === 'record') {
      const chain = this.#deviceChain(d.device)
      const seen = chain.seqs.column.get(d.deviceSeq)
      if (seen !== undefined && seen !== index) chain.forks.push(d.deviceSeq)
      else chain.seqs.column.set(d.deviceSeq, index)
    } else {
      this.statements.add(toHex(d.hash))
      this.onStatement?.(bytes)
    }
  }

  // a page's records share their device: its chain without a hex key per record
  #lastDevice: Uint8Array | undefined
  #lastChain: DeviceChainState | undefined

  #deviceChain(device: Uint8Array): DeviceChainState {
    if (this.#lastChain && this.#lastDevice && bytesEqual(device, this.#lastDevice)) return this.#lastChain
    this.#lastChain = this.#chain(toHex(device))
    this.#lastDevice = device.slice()
    return this.#lastChain
  }

  #chain(deviceHex: string): DeviceChainState {
    let chain = this.devices.get(deviceHex)
    if (!chain) {
      chain = { seqs: new ChainSeqs(this.#hashes), forks: [] }
      this.devices.set(deviceHex, chain)
    }
    return chain
  }

  /** Highest deviceSeq seen for a device, and whether its chain 1..max is complete. */
  chainOf(deviceHex: string): { max: number; complete: boolean; forks: number[] } {
    const c = this.devices.get(deviceHex)
    if (!c) return { max: 0, complete: true, forks: [] }
    const max = c.seqs.column.max()
    return { max, complete: c.seqs.size === max, forks: [...c.forks] }
  }

  /** SHA-256 over the sorted hashes (hex) of everything applied: equal digests mean identical indexes. */
  digest(): string {
    const order = Array.from({ length: this.#hashes.size }, (_, i) => i)
    order.sort((a, b) => this.#hashes.compare(a, b))
    const h = createHash('sha256')
    for (const i of order) h.update(toHex(this.#hashes.at(i)))
    return h.digest('hex')
  }

  /** The sink's state as compact bytes (sink-snapshot.ts), for the index checkpoint. */
  snapshot(): Uint8Array {
    return encodeSinkSnapshot({
      hashes: this.#hashes,
      statements: [...this.statements],
      devices: this.devices,
      rejected: this.rejected,
    })
  }

  /** snapshot()'s bytes as parts to write in order; the hashes are views of the store's pages. */
  snapshotParts(): Uint8Array[] {
    return encodeSinkSnapshotParts({
      hashes: this.#hashes,
      statements: [...this.statements],
      devices: this.devices,
      rejected: this.rejected,
    })
  }

  /**
   * Restores a snapshot taken by snapshot() (or a format 1 JSON one) into this empty sink (the ledger index
   * is restored separately, see venue-node). Throws SinkSnapshotError on bytes it cannot read.
   */
  restore(bytes: Uint8Array): void {
    const s = decodeSinkSnapshot(bytes)
    // indices of the snapshot's hashes in this store (the same ones when the sink is empty)
    const n = s.hashes.length / 32
    this.#hashes.reserve(this.#hashes.size + n)
    const local = new Uint32Array(n)
    for (let i = 0; i < n; i++) local[i] = this.#hashes.add(s.hashes, i * 32)
    for (const i of s.statements) this.statements.add(toHex(this.#hashes.at(local[i]!)))
    for (const d of s.devices) {
      const chain = this.#chain(d.device)
      for (let k = 0; k < d.deviceSeq.length; k++)
        chain.seqs.column.set(d.deviceSeq[k]!, local[d.hashIndex[k]!]!)
      chain.forks.push(...d.forks)
    }
    this.rejected = s.rejected
  }
}
