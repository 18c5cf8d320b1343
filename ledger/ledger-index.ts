// LedgerIndex: ingests signed bytes (statements and records) in any order and derives every view as a
// deterministic function of the valid records. Records wait (pending) until their predecessors and
// certificates arrive; rejected records are kept and reported, never deleted.
// Built in layers: index-state.ts (state, helpers), index-apply.ts (pending queue, rules, commit,
// trust changes), index-views.ts (views, invariants); this file: ingestion, checkpoints, local snapshot.
import { toAmounts } from './balances.ts'
import { bytesEqual, bytesOfKey, hexOfKey, keyOf, toHex } from './bytes.ts'
import { type Decoded, type DecodedKeyed, decodeSigned, decodeSignedKeyed } from './codec.ts'
import {
  type CallbackVerifier,
  verifySignature,
  verifySignatureCallback,
  verifySignatureNow,
} from './crypto.ts'
import { LedgerDecodeError, LedgerRuleError, LedgerSnapshotError, type Rule } from './errors.ts'
import { peekKind, positionOf, type RecordEntry, waitingLabel } from './index-state.ts'
import { IndexViews } from './index-views.ts'
import {
  cardSignatureMessage,
  type DeviceChainWriter,
  deviceSignatureMessage,
  deviceSignatureMessageOfKey,
  type SignedRecord,
  signingCardPositions,
  statementSignatureMessage,
} from './sign.ts'
import {
  decodeSnapshot,
  decodeSnapshotParts,
  encodeSnapshot,
  encodeSnapshotParts,
  type IndexParts,
  type Sha256Hasher,
} from './snapshot.ts'
import { buildTrust, type StatementEntry } from './trust.ts'
import type { Checkpoint, Statement } from './types.ts'
import type {
  CardView,
  CloseOutView,
  DeviceGap,
  ForkEvidence,
  IngestResult,
  IngestStatus,
  InvariantReport,
  LedgerIndexOptions,
  MembershipView,
  RejectedView,
  TicketView,
} from './views.ts'

export type {
  CardView,
  CloseOutView,
  DeviceGap,
  ForkEvidence,
  IngestResult,
  IngestStatus,
  InvariantReport,
  LedgerIndexOptions,
  MembershipView,
  RejectedView,
  TicketView,
}

/**
 * A record's ingest result: the entry's verdict when the batch ended, with its hex hash (and the hex
 * hash it waits for) made only when read: a batch of a page makes 1,000 results that callers mostly
 * read for their status (sync reads status, type and error). Same fields and JSON as a plain result.
 */
class RecordResult implements IngestResult {
  readonly type = 'record' as const
  readonly status: IngestStatus
  error?: LedgerRuleError
  readonly #key: string
  readonly #wait: string | null
  #hex: string | null = null

  constructor(entry: RecordEntry) {
    this.#key = entry.key
    this.status = entry.status as IngestStatus
    this.#wait = entry.status === 'pending' ? entry.waitingFor : null
    if (entry.error) this.error = entry.error
  }

  get hash(): string {
    if (this.#hex === null) this.#hex = hexOfKey(this.#key)
    return this.#hex
  }

  /** For pending records: a rule name, or the hex hash of the predecessor. */
  get waitingFor(): string | undefined {
    return this.#wait ? waitingLabel(this.#wait) : undefined
  }

  toJSON(): IngestResult {
    const r: IngestResult = { hash: this.hash, type: 'record', status: this.status }
    if (this.error) r.error = this.error
    if (this.#wait) r.waitingFor = waitingLabel(this.#wait)
    return r
  }
}

/** Receives a record's signature verdict: true, false (the device signature fails) or the rule. */
type Settle = (entry: RecordEntry, verdict: boolean | Rule) => void
/** startRecord: the signatures were checked on this thread and hold. */
const VERIFIED = 'verified' as const

/**
 * What a record's signatures must look like before any is checked (the same on the pool and on the calling
 * thread): the device's, then one per signing card, each card counter within 1..2^32-1.
 */
function signatureShapeRule(
  signatures: number,
  positions: ReturnType<typeof signingCardPositions>,
): Rule | undefined {
  if (signatures !== 1 + positions.length) return 'card-signature'
  for (let i = 0; i < positions.length; i++)
    if (positions[i]!.cardSeq < 1 || positions[i]!.cardSeq > 0xffffffff) return 'card-counter'
  return undefined
}

// Records applied per settled verification while others are in flight (~15-20 us each: well under the
// ~4 ms of work 64 verifications give two cores).
const APPLY_SLICE = 32

/** How a batch is ingested. */
export interface IngestOptions {
  /**
   * Keep bytes that do not decode in the `rejected()` view (default true). false: reported in the results
   * only, for a caller that keeps its own count of them (sync's ChainSink: garbage a peer sends again and
   * again must not pile up here).
   */
  keepMalformed?: boolean
}

export class LedgerIndex extends IndexViews {
  // result arrays of the batches whose malformed items are not kept (IngestOptions.keepMalformed)
  readonly #dropMalformed = new WeakSet<IngestResult[]>()

  ingest(bytes: Uint8Array, options?: IngestOptions): Promise<IngestResult> {
    return this.ingestMany([bytes], options).then((r) => r[0]!)
  }

  /**
   * Ingest a batch: statements first, then records. Records are decoded, verified (many signatures in
   * flight) and applied as a stream, so only the records in flight are held decoded.
   */
  async ingestMany(batch: Uint8Array[], options?: IngestOptions): Promise<IngestResult[]> {
    const results: IngestResult[] = new Array(batch.length)
    if (options?.keepMalformed === false) this.#dropMalformed.add(results)
    const statementItems: number[] = []
    const recordItems: number[] = []
    for (let i = 0; i < batch.length; i++) {
      const kind = peekKind(batch[i]!)
      if (kind >= 64) statementItems.push(i)
      else recordItems.push(i)
    }

    if (statementItems.length > 0) {
      const added: Statement[] = []
      const decoded: Array<{ i: number; d: Decoded & { type: 'statement' } }> = []
      for (const i of statementItems) {
        const d = this.decodeOrReport(batch[i]!, results, i)
        if (!d) continue
        if (d.type !== 'statement') {
          recordItems.push(i)
          continue
        }
        if (this.statements.has(keyOf(d.hash)))
          results[i] = { hash: toHex(d.hash), type: 'statement', status: 'duplicate' }
        else decoded.push({ i, d })
      }
      await this.pool(decoded, async ({ i, d }) => {
        const ok =
          d.signatures.length === 1 &&
          (await verifySignature(d.statement.issuer, statementSignatureMessage(d.hash), d.signatures[0]!))
        const hash = toHex(d.hash)
        if (!ok) {
          const error = new LedgerRuleError('signature', 'statement signature does not verify')
          this.malformed.push({ hash, bytes: batch[i]!, error })
          results[i] = { hash, type: 'statement', status: 'rejected', error }
          return
        }
        if (!this.statements.has(keyOf(d.hash))) {
          this.statements.set(keyOf(d.hash), { bytes: batch[i]!, statement: d.statement })
          added.push(d.statement)
        }
        results[i] = { hash, type: 'statement', status: 'valid' }
      })
      if (added.length > 0) this.trustChanged(added)
      for (const { i, d } of decoded) {
        const r = results[i]!
        const why = this.trust.inactive.get(keyOf(d.hash))
        if (r.status === 'valid' && why) {
          r.status = 'pending'
          r.waitingFor = why
        }
      }
    }

    const entryAt: Array<RecordEntry | undefined> = new Array(batch.length)
    await this.streamRecords(batch, recordItems, results, entryAt)

    for (const i of recordItems) {
      const entry = entryAt[i]
      if (entry) results[i] = new RecordResult(entry)
    }
    return results
  }

  protected decodeOrReport(bytes: Uint8Array, results: IngestResult[], i: number): Decoded | null {
    try {
      return decodeSigned(bytes)
    } catch (err) {
      this.reportMalformed(bytes, err, results, i)
      return null
    }
  }

  /** decodeOrReport with the hash as a key string (the records' path: no hash bytes, no keyOf). */
  protected decodeKeyedOrReport(bytes: Uint8Array, results: IngestResult[], i: number): DecodedKeyed | null {
    try {
      return decodeSignedKeyed(bytes)
    } catch (err) {
      this.reportMalformed(bytes, err, results, i)
      return null
    }
  }

  private reportMalformed(bytes: Uint8Array, err: unknown, results: IngestResult[], i: number): void {
    const error = err instanceof LedgerDecodeError ? err : new LedgerDecodeError('malformed', String(err))
    if (!this.#dropMalformed.has(results)) this.malformed.push({ hash: '', bytes, error })
    results[i] = { hash: '', type: 'malformed', status: 'rejected', error }
  }

  /**
   * Decode, verify and apply records with up to `concurrency` verifications in flight. No async
   * function, promise or closure of ours per record (node:crypto's callback is the one closure per
   * signature; records with card signatures take a promise per signature): this runs for every record.
   */
  protected streamRecords(
    batch: Uint8Array[],
    items: number[],
    results: IngestResult[],
    entryAt: Array<RecordEntry | undefined>,
  ): Promise<void> {
    let resolve!: () => void
    let reject!: (err: unknown) => void
    const promise = new Promise<void>((res, rej) => {
      resolve = res
      reject = rej
    })
    let next = 0
    let inFlight = 0
    let failed = false
    // a few records (a pushed record, its copies): verified here, not through the pool (verifyInlineMax)
    const inline = items.length <= this.verifyInlineMax
    const settle: Settle = (entry, verdict) => {
      inFlight--
      if (failed) return
      try {
        // refill the verify pool first, then apply a bounded slice of the queue: a record can wake a
        // chain of thousands of waiting records (page-by-page sync), and applying them in one go kept
        // the pool's threads idle for tens of ms. The rest waits for the next settled verification.
        // Once every record is started there is nothing left to refill: apply everything (while the
        // last verifications still run on the pool).
        refill()
        this.finishVerify(verdict === true ? true : verdict === false ? 'signature' : verdict, entry)
        if (next < items.length) this.drainSome(APPLY_SLICE)
        else {
          this.drain()
          if (inFlight === 0) resolve()
        }
      } catch (err) {
        failed = true
        reject(err)
      }
    }
    // start verifications up to the limit (records that fail before verifying are finished at once)
    const refill = (): void => {
      while (inFlight < this.concurrency && next < items.length) {
        const i = items[next++]!
        const started = this.startRecord(batch[i]!, i, results, entryAt, settle, inline)
        if (started === true) inFlight++
        else if (started === VERIFIED) this.finishVerify(true, entryAt[i]!)
        else if (started !== false) this.finishVerify(started, entryAt[i]!)
      }
    }
    try {
      refill()
      if (inFlight === 0 && next >= items.length) {
        this.drain()
        resolve()
      }
    } catch (err) {
      failed = true
      reject(err)
    }
    return promise
  }

  /**
   * Decode one record, store its entry and start its signature checks: false when there is nothing to
   * verify (malformed, duplicate), a rule name when it fails before any verification, true when its
   * verdict goes to `settle` later.
   */
  protected startRecord(
    bytes: Uint8Array,
    i: number,
    results: IngestResult[],
    entryAt: Array<RecordEntry | undefined>,
    settle: Settle,
    inline = false,
  ): boolean | Rule | typeof VERIFIED {
    const d = this.decodeKeyedOrReport(bytes, results, i)
    if (!d) return false
    const key = d.hash
    if (d.type !== 'record') {
      // a statement whose kind byte we could not peek (cannot happen for canonical bytes)
      results[i] = {
        hash: hexOfKey(key),
        type: 'malformed',
        status: 'rejected',
        error: new LedgerDecodeError('unknown-kind'),
      }
      return false
    }
    const known = this.entries.get(key)
    // A copy whose signatures failed does not block the genuine record with the same hash.
    if (known && (known.sigOk || known.status === 'verifying')) {
      const status = known.kind === 'anchor' ? 'covered' : 'duplicate'
      results[i] = { hash: hexOfKey(key), type: 'record', status }
      return false
    }
    if (known) this.malformed.push({ hash: hexOfKey(key), bytes: this.bytesOf(known), error: known.error! })
    const entry = this.entries.set(key, {
      key,
      ref: this.arena.add(bytes),
      len: bytes.length,
      status: 'verifying',
      sigOk: false,
      rec: d.record,
      error: null,
      waitingFor: null,
      kind: null,
      device: '',
      deviceSeq: 0,
      card1: null,
      seq1: 0,
      after1: null,
      pos2: null,
    })
    entryAt[i] = entry
    if (inline && verifySignatureNow) return this.verifyRecordNow(d, verifySignatureNow)
    return this.startRecordVerification(d, entry, settle)
  }

  /** startRecordVerification's checks on this thread: VERIFIED, or the rule that fails. */
  protected verifyRecordNow(
    d: DecodedKeyed & { type: 'record' },
    verifyNow: NonNullable<typeof verifySignatureNow>,
  ): typeof VERIFIED | Rule {
    const positions = signingCardPositions(d.record)
    const shape = signatureShapeRule(d.signatures.length, positions)
    if (shape) return shape
    if (!verifyNow(d.record.device, deviceSignatureMessageOfKey(d.hash), d.signatures[0]!)) return 'signature'
    if (positions.length === 0) return VERIFIED
    const hash = bytesOfKey(d.hash)
    for (let i = 0; i < positions.length; i++) {
      const p = positions[i]!
      if (!verifyNow(p.card.subarray(1), cardSignatureMessage(p.cardSeq, hash), d.signatures[i + 1]!))
        return 'card-signature'
    }
    return VERIFIED
  }

  /** After the signature checks: reject, or queue the record for the rules. */
  protected finishVerify(ok: true | Rule, entry: RecordEntry): void {
    if (entry.status !== 'verifying') return
    if (ok !== true) {
      entry.status = 'rejected'
      entry.error = new LedgerRuleError(ok, 'signature does not verify')
      entry.rec = null
      return
    }
    const rec = entry.rec!
    entry.sigOk = true
    entry.status = 'pending'
    entry.device = this.deviceKeyOf(rec.device)
    entry.deviceSeq = rec.deviceSeq
    this.queue.push(entry.key) // applied by the caller (streamRecords), in slices
  }

  // the last device's interned key and its bytes: a ledger page's records all name one device
  private readonly lastDevice = new Uint8Array(32)
  private lastDeviceKey = ''

  /** intern(keyOf(device)) without a key string per record when the device repeats. */
  private deviceKeyOf(device: Uint8Array): string {
    if (this.lastDeviceKey === '' || !bytesEqual(device, this.lastDevice)) {
      this.lastDeviceKey = this.intern(keyOf(device))
      this.lastDevice.set(device)
    }
    return this.lastDeviceKey
  }

  /**
   * From now on, batches' records with one signature (the device's) are verified through `verifier`
   * (undefined: back to node:crypto on libuv's pool), with up to `concurrency` in flight (a batching
   * verifier wants several batches queued). Lone records (verifyInlineMax) stay on the calling thread.
   */
  useVerifier(verifier: CallbackVerifier | undefined, concurrency?: number): void {
    this.verifier = verifier
    if (concurrency !== undefined) this.concurrency = Math.max(1, Math.floor(concurrency))
  }

  protected async pool<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
    let next = 0
    const worker = async () => {
      while (next < items.length) await work(items[next++]!)
    }
    await Promise.all(Array.from({ length: Math.min(this.concurrency, items.length) }, worker))
  }

  /**
   * Start a record's signature checks: a rule when it fails before verifying, else true and
   * `settle(entry, verdict)` later (false: the device signature fails; or 'card-signature').
   */
  protected startRecordVerification(
    d: DecodedKeyed & { type: 'record' },
    entry: RecordEntry,
    settle: Settle,
  ): true | Rule {
    const positions = signingCardPositions(d.record)
    const shape = signatureShapeRule(d.signatures.length, positions)
    if (shape) return shape
    const message = deviceSignatureMessageOfKey(d.hash)
    if (positions.length === 0) {
      // the usual record: one signature, its verdict straight to settle (no promise)
      return (this.verifier ?? verifySignatureCallback)(
        d.record.device,
        message,
        d.signatures[0]!,
        settle,
        entry,
      )
        ? true
        : 'signature'
    }
    const checks: Promise<boolean>[] = [verifySignature(d.record.device, message, d.signatures[0]!)]
    const hash = bytesOfKey(d.hash)
    for (let i = 0; i < positions.length; i++) {
      const p = positions[i]!
      checks.push(
        verifySignature(p.card.subarray(1), cardSignatureMessage(p.cardSeq, hash), d.signatures[i + 1]!),
      )
    }
    Promise.all(checks).then((ok) => settle(entry, !ok[0] ? false : ok.every(Boolean) || 'card-signature'))
    return true
  }

  /**
   * Start from a checkpoint instead of replaying history: its device heads and card heads (with
   * balances) become known-valid predecessors. Only on a fresh index, after the trust statements;
   * the checkpoint's signer must be a certified admin or relay device.
   */
  async importCheckpoint(bytes: Uint8Array): Promise<void> {
    if (this.entries.size > 0)
      throw new LedgerRuleError('checkpoint', 'import a checkpoint into a fresh index only')
    const d = decodeSigned(bytes)
    if (d.type !== 'record' || d.record.kind !== 'checkpoint')
      throw new LedgerRuleError('checkpoint', 'not a checkpoint')
    if (
      d.signatures.length !== 1 ||
      !(await verifySignature(d.record.device, deviceSignatureMessage(d.hash), d.signatures[0]!))
    )
      throw new LedgerRuleError('signature', 'checkpoint signature does not verify')
    const device = this.trust.devices.get(keyOf(d.record.device))
    if (!device)
      throw new LedgerRuleError('device-not-certified', 'checkpoint signer is not a certified device')
    if (!device.roles.has('admin') && !device.roles.has('relay'))
      throw new LedgerRuleError('device-role', 'checkpoints are signed by admin or relay devices')
    if (d.record.deviceSeq > device.cutoff)
      throw new LedgerRuleError('device-revoked', 'checkpoint signer is revoked')
    this.anchors = d.record
    this.anchorBytes = bytes.slice()
    this.applyAnchors(d.record)
  }

  /**
   * Sign a checkpoint of the current state with an admin or relay device: every device head (highest
   * valid seq without fork) and every unforked card's head and balances.
   */
  async exportCheckpoint(writer: DeviceChainWriter): Promise<SignedRecord> {
    const devices = []
    for (const [dk, s] of this.devices) {
      const seq = s.bySeq.length - 1
      const head = s.bySeq[seq]
      if (typeof head === 'string')
        devices.push({ device: bytesOfKey(dk), deviceSeq: seq, head: bytesOfKey(head) })
    }
    const cards = []
    for (const [ck, s] of this.cards) {
      const seq = s.bySeq.length - 1
      const head = s.bySeq[seq]
      if (typeof head !== 'string' || s.forkSeqs.length > 0) continue
      if (!positionOf(this.entries.get(head), ck)) continue
      const after = this.balanceAt(head, ck)
      cards.push({
        card: bytesOfKey(ck),
        cardSeq: seq,
        head: bytesOfKey(head),
        balances: toAmounts(after),
      })
    }
    const order = (a: Uint8Array, b: Uint8Array) => (toHex(a) < toHex(b) ? -1 : 1)
    devices.sort((a, b) => order(a.device, b.device))
    cards.sort((a, b) => order(a.card, b.card))
    return writer.append({ kind: 'checkpoint', devices, cards })
  }

  /**
   * A local state snapshot for a fast restart of this node (see snapshot.ts): the statements, the
   * record bytes and the derived state, bound to the federation keys and closed by a SHA-256. Records
   * still being verified are left out (they arrive again through sync).
   */
  exportSnapshot(): Uint8Array {
    return encodeSnapshot(this.snapshotParts())
  }

  /**
   * The same snapshot as parts to write in order (encoded state, record chunks as views, SHA-256 trailer),
   * hashed with `createHasher` (default @noble/hashes): no single buffer holding it all. The chunks are
   * views of the index's append-only record storage: records applied meanwhile do not change them.
   */
  exportSnapshotParts(createHasher?: () => Sha256Hasher): Uint8Array[] {
    return encodeSnapshotParts(this.snapshotParts(), createHasher)
  }

  private snapshotParts(): IndexParts {
    // records verified but not yet applied (an ingest in progress applies in slices): apply them now
    this.drain()
    return {
      federation: this.federationKeys,
      statements: this.statements,
      malformed: this.malformed,
      anchorBytes: this.anchorBytes,
      arena: this.arena,
      interned: this.interned,
      entries: this.entries,
      derived: {
        accounts: this.accounts,
        cards: this.cards,
        devices: this.devices,
        waiters: this.waiters,
        trustWaiters: this.trustWaiters,
        membershipMap: this.membershipMap,
        tickets: this.tickets,
        links: this.links,
        checkpoints: this.checkpoints,
        cardForks: this.cardForks,
        deviceForks: this.deviceForks,
        anchorSeqs: this.anchorSeqs,
        queue: this.queue,
      },
    }
  }

  /**
   * Restore an index from its own snapshot without checking signatures or rules again (the node's own
   * disk is trusted like its device key): the derived state is read back as it was. Throws
   * LedgerSnapshotError ('corrupt', 'version', 'federation-mismatch'): then re-ingest instead.
   */
  static fromSnapshot(
    bytes: Uint8Array | { head: Uint8Array; chunks: Uint8Array[] },
    options: LedgerIndexOptions,
  ): LedgerIndex {
    const index = new LedgerIndex(options)
    // a format 3 snapshot read in parts: the caller checked its SHA-256 (see decodeSnapshotParts)
    const p =
      bytes instanceof Uint8Array
        ? decodeSnapshot(bytes, index.federationKeys)
        : decodeSnapshotParts(bytes.head, bytes.chunks, index.federationKeys)
    let anchors: Checkpoint | null = null
    if (p.anchorBytes) {
      let d: Decoded
      try {
        d = decodeSigned(p.anchorBytes)
      } catch (err) {
        // hash-checked bytes that still do not decode: written by another build, treat as corrupt
        if (err instanceof LedgerDecodeError) throw new LedgerSnapshotError('corrupt', err.message)
        throw err
      }
      if (d.type !== 'record' || d.record.kind !== 'checkpoint')
        throw new LedgerSnapshotError('corrupt', 'the snapshot checkpoint is not a checkpoint')
      anchors = d.record
    }
    index.statements = p.statements
    index.trust = buildTrust(
      index.federationKeys,
      [...p.statements].map(([key, s]): StatementEntry => ({ key, statement: s.statement })),
    )
    index.malformed = p.malformed
    index.anchors = anchors
    index.anchorBytes = p.anchorBytes
    index.arena = p.arena
    index.interned = p.interned
    index.entries = p.entries
    Object.assign(index, p.derived)
    return index
  }
}
