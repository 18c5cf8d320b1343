// LedgerIndex: ingests signed bytes (statements and records) in any order and derives every view as a
// deterministic function of the valid records. Records wait (pending) until their predecessors and
// certificates arrive; rejected records are kept and reported, never deleted.
import { ByteArena } from './arena.ts'
import { type Balances, balanceOf, EMPTY_BALANCES, fromAmounts, toAmounts, withDelta } from './balances.ts'
import { bytesEqual, bytesOfKey, keyOf, toHex, ZERO_HASH } from './bytes.ts'
import { cardKindOf, type Decoded, decodeRecordUnchecked, decodeSigned } from './codec.ts'
import { verifySignature } from './crypto.ts'
import { LedgerDecodeError, LedgerRuleError, LedgerSnapshotError, type Rule } from './errors.ts'
import { type Posting, recordPostings } from './postings.ts'
import {
  cardSignatureMessage,
  chainPositions,
  type DeviceChainWriter,
  deviceSignatureMessage,
  type SignedRecord,
  signingCardPositions,
  statementSignatureMessage,
} from './sign.ts'
import { decodeSnapshot, encodeSnapshot, type SnapshotRecord } from './snapshot.ts'
import {
  buildTrust,
  type DeviceAuthority,
  offlineCeiling,
  type StatementEntry,
  type TrustState,
} from './trust.ts'
import type {
  AssetAmount,
  AssetDefinition,
  CardId,
  CardKind,
  Checkpoint,
  FederationPolicy,
  Hash,
  LedgerRecord,
  PublicKey,
  RecordKind,
  Statement,
} from './types.ts'
import { assetsOf, checkRecordShape, ROLES_FOR_KIND, saleTotals } from './validate.ts'
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

type Status = 'verifying' | 'pending' | 'valid' | 'rejected' | 'covered'

interface CardPos {
  card: string
  cardSeq: number
  /** Path balance after this record; null once a successor exists (recomputed on demand: forks). */
  after: Balances | null
}

interface RecordEntry {
  key: string
  /** Bytes in the arena (ref, len); -1/0 for checkpoint anchors. */
  ref: number
  len: number
  status: Status
  sigOk: boolean
  rec: LedgerRecord | null
  error: LedgerRuleError | null
  waitingFor: string | null
  // filled when valid
  kind: RecordKind | 'anchor' | null
  device: string
  deviceSeq: number
  // card positions inline (one object per record, no arrays): the first, and a transfer's second
  card1: string | null
  seq1: number
  after1: Balances | null
  pos2: CardPos | null
}

function positionOf(e: RecordEntry | undefined, ck: string): CardPos | undefined {
  if (!e) return undefined
  if (e.card1 === ck) return { card: ck, cardSeq: e.seq1, after: e.after1 }
  if (e.pos2?.card === ck) return e.pos2
  return undefined
}

interface CardState {
  kind: CardKind
  bySeq: (string | string[] | undefined)[]
  forkSeqs: number[]
  replacedBy: string[]
}

interface DeviceState {
  bySeq: (string | string[] | undefined)[]
  forkSeqs: number[]
  drawer: Map<string, number>
  closeOuts: CloseOutView[]
  voids: Map<string, string[]>
}

interface Effect {
  cards: CardPos[]
  /** (predecessor key, card key) of each card position after the first of its chain. */
  prevs: Array<[string, string]>
  postings: Posting[]
  views?: () => void
}

const CASH = 'x:cash'

function reject(rule: Rule, detail: string): never {
  throw new LedgerRuleError(rule, detail)
}

export class LedgerIndex {
  private readonly federationKeys: PublicKey[]
  private readonly concurrency: number
  private readonly entries = new Map<string, RecordEntry>()
  private readonly statements = new Map<string, { bytes: Uint8Array; statement: Statement }>()
  private readonly malformed: RejectedView[] = []
  private trust: TrustState
  // derived state (reset by rebuild)
  private accounts = new Map<string, Map<string, number>>()
  private cards = new Map<string, CardState>()
  private devices = new Map<string, DeviceState>()
  private waiters = new Map<string, string | string[]>()
  private trustWaiters = new Set<string>()
  private membershipMap = new Map<string, MembershipView[]>()
  private tickets = new Map<string, TicketView>()
  private links = new Map<string, Array<{ venue: string; payload: Uint8Array; hash: string }>>()
  private checkpoints: string[] = []
  private cardForks: Array<{ card: string; seq: number }> = []
  private deviceForks: Array<{ device: string; seq: number }> = []
  private anchors: Checkpoint | null = null
  private anchorBytes: Uint8Array | null = null
  private anchorSeqs = new Map<string, number>()
  private queue: string[] = []

  constructor(options: LedgerIndexOptions) {
    this.federationKeys = Array.isArray(options.federation) ? options.federation : [options.federation]
    // 64 in flight keeps the thread pool busy; more only holds more decoded records (measured: same
    // speed, +50 % peak RSS at 512)
    this.concurrency = options.concurrency ?? 64
    this.trust = buildTrust(this.federationKeys, [])
  }

  // ------------------------------------------------------------ ingest

  ingest(bytes: Uint8Array): Promise<IngestResult> {
    return this.ingestMany([bytes]).then((r) => r[0]!)
  }

  /**
   * Ingest a batch: statements first, then records. Records are decoded, verified (many signatures in
   * flight) and applied as a stream, so only the records in flight are held decoded.
   */
  async ingestMany(batch: Uint8Array[]): Promise<IngestResult[]> {
    const results: IngestResult[] = new Array(batch.length)
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
    await this.pool(recordItems, async (i) => {
      const bytes = batch[i]!
      const d = this.decodeOrReport(bytes, results, i)
      if (!d) return
      if (d.type !== 'record') {
        // a statement whose kind byte we could not peek (cannot happen for canonical bytes)
        results[i] = {
          hash: toHex(d.hash),
          type: 'malformed',
          status: 'rejected',
          error: new LedgerDecodeError('unknown-kind'),
        }
        return
      }
      const key = keyOf(d.hash)
      const known = this.entries.get(key)
      // A copy whose signatures failed does not block the genuine record with the same hash.
      if (known && (known.sigOk || known.status === 'verifying')) {
        const status = known.kind === 'anchor' ? 'covered' : 'duplicate'
        results[i] = { hash: toHex(d.hash), type: 'record', status }
        return
      }
      if (known) this.malformed.push({ hash: toHex(d.hash), bytes: this.bytesOf(known), error: known.error! })
      const entry: RecordEntry = {
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
      }
      this.entries.set(key, entry)
      entryAt[i] = entry
      const ok = await this.verifyRecordSignatures(d)
      if (entry.status !== 'verifying') return
      if (ok !== true) {
        entry.status = 'rejected'
        entry.error = new LedgerRuleError(ok, 'signature does not verify')
        entry.rec = null
        return
      }
      entry.sigOk = true
      entry.status = 'pending'
      entry.device = this.intern(keyOf(d.record.device))
      entry.deviceSeq = d.record.deviceSeq
      this.queue.push(entry.key)
      this.drain()
    })

    for (const i of recordItems) {
      const entry = entryAt[i]
      if (!entry) continue
      const r: IngestResult = {
        hash: toHex(bytesOfKey(entry.key)),
        type: 'record',
        status: entry.status as IngestStatus,
      }
      if (entry.error) r.error = entry.error
      if (entry.status === 'pending' && entry.waitingFor) r.waitingFor = waitingLabel(entry.waitingFor)
      results[i] = r
    }
    return results
  }

  private decodeOrReport(bytes: Uint8Array, results: IngestResult[], i: number): Decoded | null {
    try {
      return decodeSigned(bytes)
    } catch (err) {
      const error = err instanceof LedgerDecodeError ? err : new LedgerDecodeError('malformed', String(err))
      this.malformed.push({ hash: '', bytes, error })
      results[i] = { hash: '', type: 'malformed', status: 'rejected', error }
      return null
    }
  }

  private async pool<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
    let next = 0
    const worker = async () => {
      while (next < items.length) await work(items[next++]!)
    }
    await Promise.all(Array.from({ length: Math.min(this.concurrency, items.length) }, worker))
  }

  private async verifyRecordSignatures(d: Decoded & { type: 'record' }): Promise<true | Rule> {
    const positions = signingCardPositions(d.record)
    if (d.signatures.length !== 1 + positions.length) return 'card-signature'
    if (positions.length === 0)
      return (await verifySignature(d.record.device, deviceSignatureMessage(d.hash), d.signatures[0]!))
        ? true
        : 'signature'
    const checks: Promise<boolean>[] = [
      verifySignature(d.record.device, deviceSignatureMessage(d.hash), d.signatures[0]!),
    ]
    for (let i = 0; i < positions.length; i++) {
      const p = positions[i]!
      if (p.cardSeq < 1 || p.cardSeq > 0xffffffff) return 'card-counter'
      checks.push(
        verifySignature(p.card.subarray(1), cardSignatureMessage(p.cardSeq, d.hash), d.signatures[i + 1]!),
      )
    }
    const results = await Promise.all(checks)
    if (!results[0]) return 'signature'
    return results.every(Boolean) ? true : 'card-signature'
  }

  // ------------------------------------------------------------ trust changes

  private trustChanged(added: Statement[]): void {
    const old = this.trust
    this.trust = buildTrust(
      this.federationKeys,
      [...this.statements].map(([key, s]): StatementEntry => ({ key, statement: s.statement })),
    )
    // Additions that can only turn waiting records valid are applied incrementally; anything that can
    // change the verdict on an already processed record (revocation, policy, a second certificate or
    // asset definition) re-derives every view from the stored records (signatures are not re-checked).
    let processed = false
    for (const e of this.entries.values())
      if (e.status === 'valid' || e.status === 'rejected') {
        processed = true
        break
      }
    const retroactive = added.some(
      (s) =>
        s.kind === 'device-revocation' ||
        s.kind === 'federation-policy' ||
        (s.kind === 'device-certificate' && old.devices.has(keyOf(s.device))) ||
        (s.kind === 'asset-definition' && old.assets.has(s.asset)) ||
        (s.kind === 'venue-admission' && old.venues.has(keyOf(s.venue))),
    )
    if (processed && retroactive) {
      this.rebuild()
      return
    }
    for (const k of this.trustWaiters) this.queue.push(k)
    this.trustWaiters.clear()
    this.drain()
  }

  /** Re-derive all views from the stored records (deterministic, order-free). */
  private rebuild(): void {
    this.accounts = new Map()
    this.cards = new Map()
    this.devices = new Map()
    this.waiters = new Map()
    this.trustWaiters = new Set()
    this.membershipMap = new Map()
    this.tickets = new Map()
    this.links = new Map()
    this.checkpoints = []
    this.cardForks = []
    this.deviceForks = []
    for (const e of this.entries.values()) {
      if (e.kind === 'anchor') continue
      if (!e.sigOk) continue
      e.status = 'pending'
      e.error = null
      e.waitingFor = null
      e.kind = null
      e.card1 = null
      e.after1 = null
      e.pos2 = null
      this.queue.push(e.key)
    }
    if (this.anchors) this.applyAnchors(this.anchors)
    this.drain()
  }

  // ------------------------------------------------------------ processing

  private readonly arena = new ByteArena()
  private bytesOf(e: RecordEntry): Uint8Array {
    return e.ref === -1 && e.len === 0 ? new Uint8Array(0) : this.arena.get(e.ref, e.len)
  }

  private readonly interned = new Map<string, string>()
  /** One string per device / card key, shared by all its records (memory). */
  private intern(k: string): string {
    const c = this.interned.get(k)
    if (c !== undefined) return c
    this.interned.set(k, k)
    return k
  }

  private drain(): void {
    while (this.queue.length > 0) this.process(this.queue.pop()!)
  }

  // Waiting records keep only their bytes (decoded again when woken): first sync of a busy federation
  // can hold most records pending at once, and a decoded record costs ~10x its bytes.
  private wait(entry: RecordEntry, on: string): void {
    entry.waitingFor = WAITING_ON_HASH + on // shared key string; shown as hex by pending() and results
    entry.rec = null
    // one waiter is a plain string (a push-grown array would reserve ~17 slots)
    const cur = this.waiters.get(on)
    if (cur === undefined) this.waiters.set(on, entry.key)
    else if (typeof cur === 'string') this.waiters.set(on, [cur, entry.key])
    else cur.push(entry.key)
  }

  private waitTrust(entry: RecordEntry, rule: Rule): void {
    entry.waitingFor = rule
    entry.rec = null
    this.trustWaiters.add(entry.key)
  }

  private record(entry: RecordEntry): LedgerRecord {
    if (!entry.rec) return decodeRecordUnchecked(this.bytesOf(entry))
    return entry.rec
  }

  private process(key: string): void {
    const entry = this.entries.get(key)
    if (entry?.status !== 'pending' || !entry.sigOk) return
    const rec = this.record(entry)
    if (this.anchors) {
      const anchorSeq = this.anchorSeqs.get(entry.device)
      if (anchorSeq !== undefined && rec.deviceSeq <= anchorSeq) {
        entry.status = 'covered'
        entry.rec = null
        return
      }
    }
    // The device chain orders a device's records: its predecessor must be known and signed, whatever
    // the verdict on it (one refused record must not silence a till). Checked first: it is the usual
    // wait during a first sync, and the cheapest.
    if (rec.deviceSeq > 1) {
      const prevKey = keyOf(rec.devicePrev)
      const prev = this.entries.get(prevKey)
      if (!prev?.sigOk || (prev.status !== 'valid' && prev.status !== 'rejected')) {
        this.wait(entry, prevKey)
        return
      }
    }
    const device = this.trust.devices.get(entry.device)
    if (!device) {
      this.waitTrust(entry, 'device-not-certified')
      return
    }
    for (const asset of assetsOf(rec))
      if (!this.trust.assets.has(asset)) {
        this.waitTrust(entry, 'unknown-asset')
        return
      }
    if (rec.staff.length > 0 && !this.trust.staff.has(device.venueKey + keyOf(rec.staff))) {
      this.waitTrust(entry, 'staff-not-certified')
      return
    }

    // other predecessors: card chains (they carry balances: must be valid), void target, lost card head
    const deps: Array<[Hash, Rule]> = []
    for (const c of chainPositions(rec)) if (c.cardSeq > 1) deps.push([c.cardPrev, 'card-chain'])
    if (rec.kind === 'void') deps.push([rec.target, 'void'])
    if (rec.kind === 'card-replace' && rec.lostCardSeq > 0) deps.push([rec.lostHead, 'replace'])
    for (const [hash, rule] of deps) {
      const dk = keyOf(hash)
      const dep = this.entries.get(dk)
      if (dep?.status === 'rejected' && dep.sigOk) {
        this.finishRejected(entry, new LedgerRuleError(rule, `predecessor ${toHex(hash)} is rejected`))
        return
      }
      if (dep?.status !== 'valid') {
        this.wait(entry, dk)
        return
      }
    }

    let effect: Effect
    try {
      checkRecordShape(rec)
      effect = this.evaluate(rec, device, entry.key)
    } catch (err) {
      if (err instanceof LedgerRuleError) {
        this.finishRejected(entry, err)
        return
      }
      throw err
    }
    this.commit(entry, rec, effect)
  }

  private finishRejected(entry: RecordEntry, error: LedgerRuleError): void {
    entry.status = 'rejected'
    entry.error = error
    entry.waitingFor = null
    entry.rec = null
    this.wake(entry.key)
  }

  private wake(key: string): void {
    const list = this.waiters.get(key)
    if (list === undefined) return
    this.waiters.delete(key)
    if (typeof list === 'string') this.queue.push(list)
    else for (const k of list) this.queue.push(k)
  }

  /** The rules that need the valid history. Throws LedgerRuleError; returns the record's effect. */
  private evaluate(rec: LedgerRecord, device: DeviceAuthority, key: string): Effect {
    const hashHex = () => toHex(bytesOfKey(key))
    if (!ROLES_FOR_KIND[rec.kind].some((r) => device.roles.has(r)))
      reject('device-role', `${rec.kind} needs one of ${ROLES_FOR_KIND[rec.kind].join('/')}`)
    if (rec.deviceSeq > device.cutoff)
      reject('device-revoked', `deviceSeq ${rec.deviceSeq} > cutoff ${device.cutoff}`)
    if (!device.windows.some((w) => rec.time >= w.notBefore && (w.notAfter === 0 || rec.time <= w.notAfter)))
      reject('device-validity', `time ${rec.time} outside the certificate validity`)

    if (rec.deviceSeq > 1) {
      const prev = this.entries.get(keyOf(rec.devicePrev))!
      if (prev.device !== keyOf(rec.device) || prev.deviceSeq !== rec.deviceSeq - 1)
        reject('device-chain', `devicePrev is not this device's record ${rec.deviceSeq - 1}`)
    }
    const before = new Map<string, Balances>()
    const prevs: Array<[string, string]> = []
    for (const c of chainPositions(rec)) {
      const ck = keyOf(c.card)
      if (c.cardSeq === 1) {
        before.set(ck, EMPTY_BALANCES)
        continue
      }
      const prevKey = keyOf(c.cardPrev)
      const pos = positionOf(this.entries.get(prevKey), ck)
      if (!pos || pos.cardSeq !== c.cardSeq - 1)
        reject('card-chain', `cardPrev is not this card's record ${c.cardSeq - 1}`)
      before.set(ck, pos.after ?? this.balanceAt(prevKey, ck))
      prevs.push([prevKey, ck])
    }
    const asset = (id: string) => this.trust.assets.get(id)!
    const ceiling = (card: CardId) => offlineCeiling(this.trust, cardKindOf(card), rec.time)
    const postings = recordPostings(rec, device.venueKey, null)
    const cards: CardPos[] = []
    // path balance after this record for each card position; checks floor on debits, ceiling on credits
    const move = (card: CardId, cardSeq: number, deltas: Map<string, number>, checkLimits: boolean) => {
      const ck = keyOf(card)
      let b = before.get(ck)!
      for (const [a, d] of deltas) {
        b = withDelta(b, a, d)
        const after = balanceOf(b, a)
        if (!Number.isSafeInteger(after)) reject('amount', 'balance overflow')
        if (checkLimits && d < 0 && after < asset(a).floor)
          reject('floor', `${a} would be ${after} < floor ${asset(a).floor}`)
        if (checkLimits && d > 0 && after > ceiling(card))
          reject(
            'offline-ceiling',
            `${a} would be ${after} > ceiling ${ceiling(card)} for ${cardKindOf(card)} cards`,
          )
      }
      cards.push({ card: this.intern(ck), cardSeq, after: b })
    }
    let views: (() => void) | undefined

    switch (rec.kind) {
      case 'top-up': {
        const def = asset(rec.asset)
        const issuerKey = keyOf(def.issuer)
        const byFederation = this.trust.federation.has(issuerKey)
        if (!byFederation && issuerKey !== device.venueKey)
          reject('asset-issuer', `${rec.asset} is issued by another venue`)
        if (byFederation && rec.method === 'free')
          reject('asset-issuer', `only the issuer mints ${rec.asset} for free`)
        move(rec.chain.card, rec.chain.cardSeq, new Map([[rec.asset, rec.amount]]), true)
        break
      }
      case 'sale': {
        for (const p of rec.payments)
          if (p.method !== 'card' && asset(p.asset).assetKind !== 'euro')
            reject('payment', `${p.method} payment in ${p.asset}, which is not a euro asset`)
        if (rec.chain) {
          const deltas = new Map<string, number>()
          for (const [a, v] of saleTotals(rec).card) deltas.set(a, -v)
          move(rec.chain.card, rec.chain.cardSeq, deltas, true)
        }
        break
      }
      case 'refund': {
        if (!asset(rec.asset).refundable) reject('refund', `${rec.asset} is not refundable`)
        const have = balanceOf(before.get(keyOf(rec.chain.card))!, rec.asset)
        if (rec.amount > have) reject('refund', `refund ${rec.amount} > refundable balance ${have}`)
        move(rec.chain.card, rec.chain.cardSeq, new Map([[rec.asset, -rec.amount]]), true)
        break
      }
      case 'transfer':
        move(rec.chain.card, rec.chain.cardSeq, new Map([[rec.asset, -rec.amount]]), true)
        move(rec.to.card, rec.to.cardSeq, new Map([[rec.asset, rec.amount]]), true)
        break
      case 'void': {
        const targetEntry = this.entries.get(keyOf(rec.target))!
        if (targetEntry.kind !== 'sale') reject('void', 'the target is not a sale')
        if (targetEntry.device !== keyOf(rec.device)) reject('void', 'a till voids only its own sales')
        const target = this.record(targetEntry) as Extract<LedgerRecord, { kind: 'sale' }>
        const dev = this.devices.get(targetEntry.device)!
        for (const other of dev.voids.get(keyOf(rec.target)) ?? [])
          if (this.isDeviceAncestor(other, rec)) reject('void', 'the sale is already voided')
        if (
          !!target.chain !== !!rec.chain ||
          (target.chain && rec.chain && !bytesEqual(target.chain.card, rec.chain.card))
        )
          reject('void', "a void sits in the sale's card chain exactly when the sale did")
        if (rec.chain) move(rec.chain.card, rec.chain.cardSeq, saleTotals(target).card, false)
        postings.push(...recordPostings(rec, device.venueKey, target))
        const vk = keyOf(rec.target)
        views = () => {
          const list = dev.voids.get(vk) ?? []
          list.push(key)
          dev.voids.set(vk, list)
        }
        break
      }
      case 'card-replace': {
        const lostKey = keyOf(rec.lostCard)
        let atHead = EMPTY_BALANCES
        if (rec.lostCardSeq > 0) {
          const pos = positionOf(this.entries.get(keyOf(rec.lostHead)), lostKey)
          if (!pos || pos.cardSeq !== rec.lostCardSeq)
            reject('replace', "lostHead is not the lost card's record at lostCardSeq")
          atHead = pos.after ?? this.balanceAt(keyOf(rec.lostHead), lostKey)
        }
        const expected = toAmounts(atHead).filter((a) => a.amount > 0)
        const moved = [...rec.moved].sort((a, b) => (a.asset < b.asset ? -1 : 1))
        if (
          expected.length !== moved.length ||
          expected.some((e, i) => e.asset !== moved[i]!.asset || e.amount !== moved[i]!.amount)
        )
          reject('replace', 'moved amounts differ from the lost card balance at lostHead')
        move(rec.chain.card, rec.chain.cardSeq, new Map(moved.map((m) => [m.asset, m.amount])), false)
        views = () => this.cardState(lostKey, cardKindOf(rec.lostCard)).replacedBy.push(hashHex())
        break
      }
      case 'membership-grant':
        views = () => {
          const k = keyOf(rec.card)
          const list = this.membershipMap.get(k) ?? []
          list.push({
            plan: rec.plan,
            venue: toHex(device.venue),
            validFrom: rec.validFrom,
            validUntil: rec.validUntil,
            hash: hashHex(),
          })
          this.membershipMap.set(k, list)
        }
        break
      case 'ticket-issue':
        views = () =>
          this.ticket(rec.ticket).issues.push({
            hash: hashHex(),
            event: rec.event,
            ticketType: rec.ticketType,
            card: toHex(rec.card),
            validUntil: rec.validUntil,
            venue: toHex(device.venue),
          })
        break
      case 'check-in':
        views = () =>
          this.ticket(rec.ticket).checkIns.push({
            hash: hashHex(),
            device: toHex(rec.device),
            time: rec.time,
          })
        break
      case 'card-link':
        views = () => {
          const k = keyOf(rec.card)
          const list = this.links.get(k) ?? []
          list.push({ venue: toHex(rec.venue), payload: rec.payload, hash: hashHex() })
          this.links.set(k, list)
        }
        break
      case 'checkpoint':
        views = () => this.checkpoints.push(hashHex())
        break
      case 'till-close-out':
        views = () => {
          const dev = this.deviceState(keyOf(rec.device))
          dev.closeOuts.push({
            hash: hashHex(),
            deviceSeq: rec.deviceSeq,
            expected: [...dev.drawer]
              .map(([asset, amount]) => ({ asset, amount }))
              .sort((a, b) => (a.asset < b.asset ? -1 : 1)),
            counted: rec.counted,
          })
          dev.drawer = new Map()
        }
        break
    }
    return views ? { cards, prevs, postings, views } : { cards, prevs, postings }
  }

  /** Path balance of card `ck` after record `key`: stored for tips, else replayed from the nearest one. */
  private balanceAt(key: string, ck: string): Balances {
    const path: RecordEntry[] = []
    let base: Balances = EMPTY_BALANCES
    for (let k = key; ; ) {
      const e = this.entries.get(k)!
      const pos = positionOf(e, ck)!
      if (pos.after) {
        base = pos.after
        break
      }
      path.push(e)
      const c = chainPositions(this.record(e)).find((p) => keyOf(p.card) === ck)!
      if (c.cardSeq === 1) break
      k = keyOf(c.cardPrev)
    }
    const account = `c:${ck}`
    for (let i = path.length - 1; i >= 0; i--) {
      const rec = this.record(path[i]!)
      const target = rec.kind === 'void' ? this.record(this.entries.get(keyOf(rec.target))!) : null
      for (const [acc, asset, d] of recordPostings(rec, '', target))
        if (acc === account) base = withDelta(base, asset, d)
    }
    return base
  }

  /** Is record `ancestorKey` on `rec`'s device chain (walk back through devicePrev)? */
  private isDeviceAncestor(ancestorKey: string, rec: LedgerRecord): boolean {
    const target = this.entries.get(ancestorKey)
    if (!target) return false
    let k = keyOf(rec.devicePrev)
    for (;;) {
      if (k === ancestorKey) return true
      const e = this.entries.get(k)
      if (!e || e.kind === 'anchor' || e.deviceSeq <= target.deviceSeq) return false
      k = keyOf(this.record(e).devicePrev)
    }
  }

  private cardState(ck: string, kind: CardKind): CardState {
    return getOrCreate(this.cards, ck, () => ({ kind, bySeq: [], forkSeqs: [], replacedBy: [] }))
  }

  private deviceState(dk: string): DeviceState {
    return getOrCreate(this.devices, dk, () => ({
      bySeq: [],
      forkSeqs: [],
      drawer: new Map(),
      closeOuts: [],
      voids: new Map(),
    }))
  }

  private ticket(id: string): TicketView {
    return getOrCreate(
      this.tickets,
      id,
      (): TicketView => ({
        ticket: id,
        state: 'unknown',
        issues: [],
        checkIns: [],
        conflict: false,
      }),
    )
  }

  private post(account: string, asset: string, delta: number): void {
    const m = getOrCreate(this.accounts, account, () => new Map<string, number>())
    m.set(asset, (m.get(asset) ?? 0) + delta)
  }

  /** Place `key` at `seq`; returns true when another hash already holds that position (a fork). */
  private static place(bySeq: (string | string[] | undefined)[], seq: number, key: string): boolean {
    const cur = bySeq[seq]
    if (cur === undefined) {
      bySeq[seq] = key
      return false
    }
    if (typeof cur === 'string') bySeq[seq] = [cur, key]
    else cur.push(key)
    return true
  }

  private commit(entry: RecordEntry, rec: LedgerRecord, effect: Effect): void {
    const dk = entry.device
    entry.status = 'valid'
    entry.waitingFor = null
    entry.kind = rec.kind
    entry.device = dk
    entry.deviceSeq = rec.deviceSeq
    const c = effect.cards
    if (c.length > 0) {
      entry.card1 = c[0]!.card
      entry.seq1 = c[0]!.cardSeq
      entry.after1 = c[0]!.after
      entry.pos2 = c[1] ?? null
    }
    const dev = this.deviceState(dk)
    if (LedgerIndex.place(dev.bySeq, rec.deviceSeq, entry.key)) {
      if (!dev.forkSeqs.includes(rec.deviceSeq)) {
        dev.forkSeqs.push(rec.deviceSeq)
        this.deviceForks.push({ device: dk, seq: rec.deviceSeq })
      }
    }
    // the predecessor is no longer a tip: drop its stored path balance (recomputed if a fork needs it)
    for (const [prevKey, ck] of effect.prevs) {
      const prev = this.entries.get(prevKey)
      if (!prev || prev.kind === 'anchor') continue
      if (prev.card1 === ck) prev.after1 = null
      else if (prev.pos2?.card === ck) prev.pos2 = { card: ck, cardSeq: prev.pos2.cardSeq, after: null }
    }
    for (const pos of effect.cards) {
      const cs = this.cardState(pos.card, cardKindOf(bytesOfKey(pos.card)))
      if (LedgerIndex.place(cs.bySeq, pos.cardSeq, entry.key) && !cs.forkSeqs.includes(pos.cardSeq)) {
        cs.forkSeqs.push(pos.cardSeq)
        this.cardForks.push({ card: pos.card, seq: pos.cardSeq })
      }
    }
    for (const [account, asset, delta] of effect.postings) {
      this.post(account, asset, delta)
      if (account === CASH) dev.drawer.set(asset, (dev.drawer.get(asset) ?? 0) - delta)
    }
    effect.views?.()
    entry.rec = null
    this.wake(entry.key)
  }

  // ------------------------------------------------------------ checkpoints

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

  private applyAnchors(cp: Checkpoint): void {
    const anchor = (key: string, device: string, deviceSeq: number, pos: CardPos | null) => {
      const existing = this.entries.get(key)
      if (existing && existing.kind !== 'anchor') return
      this.entries.set(key, {
        key,
        ref: -1,
        len: 0,
        status: 'valid',
        sigOk: true,
        rec: null,
        error: null,
        waitingFor: null,
        kind: 'anchor',
        device,
        deviceSeq,
        card1: pos?.card ?? null,
        seq1: pos?.cardSeq ?? 0,
        after1: pos?.after ?? null,
        pos2: null,
      })
    }
    for (const dv of cp.devices) {
      const dk = this.intern(keyOf(dv.device))
      this.anchorSeqs.set(dk, dv.deviceSeq)
      anchor(keyOf(dv.head), dk, dv.deviceSeq, null)
      this.deviceState(dk).bySeq[dv.deviceSeq] = keyOf(dv.head)
    }
    for (const c of cp.cards) {
      const ck = keyOf(c.card)
      const hk = keyOf(c.head)
      const pos: CardPos = { card: ck, cardSeq: c.cardSeq, after: fromAmounts(c.balances) }
      const e = this.entries.get(hk)
      if (e?.kind === 'anchor' && e.card1 === null) {
        e.card1 = pos.card
        e.seq1 = pos.cardSeq
        e.after1 = pos.after
      } else if (e?.kind === 'anchor') e.pos2 = pos
      else anchor(hk, '', 0, pos)
      this.cardState(ck, cardKindOf(c.card)).bySeq[c.cardSeq] = hk
      for (const b of c.balances) {
        this.post(`c:${ck}`, b.asset, b.amount)
        this.post('x:checkpoint', b.asset, -b.amount)
      }
    }
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

  // ------------------------------------------------------------ local snapshot

  /**
   * A local state snapshot for a fast restart of this node (see snapshot.ts): the statements and
   * records this index holds, bound to its federation keys and closed by a SHA-256. Records still
   * being verified are left out (they arrive again through sync).
   */
  exportSnapshot(): Uint8Array {
    const records: SnapshotRecord[] = []
    for (const e of this.entries.values()) {
      if (e.kind === 'anchor' || e.status === 'verifying') continue
      const bytes = this.bytesOf(e)
      if (e.sigOk) records.push({ bytes })
      else records.push({ bytes, refused: { rule: e.error!.rule, message: e.error!.message } })
    }
    return encodeSnapshot({
      federation: this.federationKeys,
      statements: [...this.statements.values()].map((s) => s.bytes),
      records,
      malformed: this.malformed,
      checkpoint: this.anchorBytes,
    })
  }

  /**
   * Restore an index from its own snapshot without verifying signatures again (the node's own disk is
   * trusted like its device key); every view is re-derived from the records. Throws
   * LedgerSnapshotError ('corrupt', 'version', 'federation-mismatch'): then re-ingest instead.
   */
  static fromSnapshot(bytes: Uint8Array, options: LedgerIndexOptions): LedgerIndex {
    const content = decodeSnapshot(bytes)
    const index = new LedgerIndex(options)
    const mine = index.federationKeys
    if (
      mine.length !== content.federation.length ||
      mine.some((k, i) => !bytesEqual(k, content.federation[i]!))
    )
      throw new LedgerSnapshotError(
        'federation-mismatch',
        'the snapshot was taken under other federation keys',
      )
    try {
      index.restore(content)
    } catch (err) {
      // hash-checked bytes that still do not decode: written by another build, treat as corrupt
      if (err instanceof LedgerDecodeError) throw new LedgerSnapshotError('corrupt', err.message)
      throw err
    }
    return index
  }

  private restore(content: ReturnType<typeof decodeSnapshot>): void {
    for (const bytes of content.statements) {
      const d = decodeSigned(bytes)
      if (d.type !== 'statement') throw new LedgerDecodeError('unknown-kind', 'record among statements')
      this.statements.set(keyOf(d.hash), { bytes, statement: d.statement })
    }
    this.trust = buildTrust(
      this.federationKeys,
      [...this.statements].map(([key, s]): StatementEntry => ({ key, statement: s.statement })),
    )
    this.malformed.push(...content.malformed)
    if (content.checkpoint) {
      const d = decodeSigned(content.checkpoint)
      if (d.type !== 'record' || d.record.kind !== 'checkpoint')
        throw new LedgerDecodeError('unknown-kind', 'the snapshot checkpoint is not a checkpoint')
      this.anchors = d.record
      this.anchorBytes = content.checkpoint
      this.applyAnchors(d.record)
    }
    for (const r of content.records) {
      const d = decodeSigned(r.bytes)
      if (d.type !== 'record') throw new LedgerDecodeError('unknown-kind', 'statement among records')
      const key = keyOf(d.hash)
      const error = r.refused ? new LedgerRuleError(r.refused.rule) : null
      if (error) error.message = r.refused!.message
      this.entries.set(key, {
        key,
        ref: this.arena.add(r.bytes),
        len: r.bytes.length,
        status: error ? 'rejected' : 'pending',
        sigOk: !error,
        rec: null,
        error,
        waitingFor: null,
        kind: null,
        device: error ? '' : this.intern(keyOf(d.record.device)),
        deviceSeq: error ? 0 : d.record.deviceSeq,
        card1: null,
        seq1: 0,
        after1: null,
        pos2: null,
      })
      if (!error) this.queue.push(key)
    }
    this.drain()
  }

  /**
   * The valid records in a deterministic order (device key, then deviceSeq, then hash), decoded on
   * the fly: for reports. Each item's bytes are a copy.
   */
  *validRecords(): Generator<{ hash: string; bytes: Uint8Array; record: LedgerRecord }> {
    const list: RecordEntry[] = []
    for (const e of this.entries.values()) if (e.status === 'valid' && e.kind !== 'anchor') list.push(e)
    // interned keys are latin1 strings: their order is the bytes' (and the hex) order
    list.sort((a, b) =>
      a.device !== b.device
        ? a.device < b.device
          ? -1
          : 1
        : a.deviceSeq - b.deviceSeq || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
    )
    for (const e of list) {
      const bytes = this.bytesOf(e).slice()
      yield { hash: toHex(bytesOfKey(e.key)), bytes, record: decodeRecordUnchecked(bytes) }
    }
  }

  // ------------------------------------------------------------ views

  status(hash: Uint8Array | string): Status | undefined {
    const k = typeof hash === 'string' ? keyOf(hexToBytes(hash)) : keyOf(hash)
    const e = this.entries.get(k)
    if (e) return e.status
    return this.statements.has(k) ? 'valid' : undefined
  }

  balance(card: CardId, asset: string): number {
    return this.accounts.get(`c:${keyOf(card)}`)?.get(asset) ?? 0
  }

  balances(card: CardId): AssetAmount[] {
    return sortedAmounts(this.accounts.get(`c:${keyOf(card)}`))
  }

  /** Takings of a venue per asset (all payment methods, net of voids). */
  takings(venue: PublicKey): AssetAmount[] {
    return sortedAmounts(this.accounts.get(`v:${keyOf(venue)}`))
  }

  card(card: CardId): CardView | null {
    const ck = keyOf(card)
    const s = this.cards.get(ck)
    if (!s) return null
    const seq = s.bySeq.length - 1
    const head = s.bySeq[seq]
    return {
      card: toHex(card),
      kind: s.kind,
      balances: this.balances(card),
      cardSeq: seq,
      head: typeof head === 'string' ? toHex(bytesOfKey(head)) : null,
      frozen: s.forkSeqs.length > 0 || s.replacedBy.length > 0,
      forkSeqs: [...s.forkSeqs].sort((a, b) => a - b),
      replacedBy: [...s.replacedBy].sort(),
    }
  }

  /** Next chain position for a card from this index's knowledge (null cardPrev when forked). */
  nextChainPosition(
    card: CardId,
  ): { card: CardId; cardSeq: number; cardPrev: Hash; balances: AssetAmount[] } | null {
    const s = this.cards.get(keyOf(card))
    if (!s) return { card, cardSeq: 1, cardPrev: ZERO_HASH, balances: [] }
    const seq = s.bySeq.length - 1
    const head = s.bySeq[seq]
    if (typeof head !== 'string') return null
    const pos = positionOf(this.entries.get(head), keyOf(card))
    const balances = pos ? toAmounts(this.balanceAt(head, keyOf(card))) : []
    return { card, cardSeq: seq + 1, cardPrev: bytesOfKey(head), balances }
  }

  memberships(card: CardId): MembershipView[] {
    return [...(this.membershipMap.get(keyOf(card)) ?? [])].sort(byHash)
  }

  /** Is there a membership (any plan, or the given plan) valid at `time`, with skew tolerance? */
  isMember(card: CardId, time: number, options: { plan?: string; skewMs?: number } = {}): boolean {
    const skew = options.skewMs ?? 5 * 60_000
    return this.memberships(card).some(
      (m) =>
        (!options.plan || m.plan === options.plan) &&
        time + skew >= m.validFrom &&
        time - skew <= m.validUntil,
    )
  }

  ticketState(ticket: string): TicketView {
    const t = this.tickets.get(ticket)
    if (!t) return { ticket, state: 'unknown', issues: [], checkIns: [], conflict: false }
    return {
      ticket,
      state: t.issues.length === 0 ? 'unknown' : t.checkIns.length > 0 ? 'checked-in' : 'issued',
      issues: [...t.issues].sort(byHash),
      checkIns: [...t.checkIns].sort(byHash),
      conflict: t.issues.length > 1 || t.checkIns.length > 1,
    }
  }

  cardLinks(card: CardId): Array<{ venue: string; payload: Uint8Array; hash: string }> {
    return [...(this.links.get(keyOf(card)) ?? [])].sort(byHash)
  }

  closeOuts(device: PublicKey): CloseOutView[] {
    return [...(this.devices.get(keyOf(device))?.closeOuts ?? [])].sort((a, b) => a.deviceSeq - b.deviceSeq)
  }

  forks(): ForkEvidence[] {
    const out: ForkEvidence[] = []
    const evidence = (keys: string | string[] | undefined) => {
      const list = (Array.isArray(keys) ? keys : []).slice().sort()
      return {
        hashes: list.map((k) => toHex(bytesOfKey(k))),
        records: list.map((k) => this.bytesOf(this.entries.get(k)!)),
      }
    }
    for (const f of this.cardForks)
      out.push({
        type: 'card',
        subject: toHex(bytesOfKey(f.card)),
        seq: f.seq,
        ...evidence(this.cards.get(f.card)!.bySeq[f.seq]),
      })
    for (const f of this.deviceForks)
      out.push({
        type: 'device',
        subject: toHex(bytesOfKey(f.device)),
        seq: f.seq,
        ...evidence(this.devices.get(f.device)!.bySeq[f.seq]),
      })
    return out.sort((a, b) => (a.type + a.subject + a.seq < b.type + b.subject + b.seq ? -1 : 1))
  }

  /** Missing deviceSeq ranges that keep records of that device pending. */
  deviceGaps(): DeviceGap[] {
    const pendingSeqs = new Map<string, number[]>()
    for (const e of this.entries.values()) {
      if (e.status !== 'pending') continue
      const rec = this.record(e)
      const dk = keyOf(rec.device)
      const list = pendingSeqs.get(dk) ?? []
      list.push(rec.deviceSeq)
      pendingSeqs.set(dk, list)
    }
    const gaps: DeviceGap[] = []
    for (const [dk, seqs] of pendingSeqs) {
      const have = new Set(seqs)
      const known = this.devices.get(dk)?.bySeq ?? []
      const max = Math.max(...seqs)
      let from = 0
      for (let s = 1; s <= max; s++) {
        const missing = known[s] === undefined && !have.has(s)
        if (missing && from === 0) from = s
        if (!missing && from !== 0) {
          gaps.push({ device: toHex(bytesOfKey(dk)), from, to: s - 1 })
          from = 0
        }
      }
    }
    return gaps
  }

  rejected(): RejectedView[] {
    const out: RejectedView[] = [...this.malformed]
    for (const e of this.entries.values())
      if (e.status === 'rejected')
        out.push({ hash: toHex(bytesOfKey(e.key)), bytes: this.bytesOf(e), error: e.error! })
    return out
  }

  pending(): Array<{ hash: string; waitingFor: string }> {
    const out = []
    for (const e of this.entries.values())
      if (e.status === 'pending' || e.status === 'verifying')
        out.push({
          hash: toHex(bytesOfKey(e.key)),
          waitingFor: e.waitingFor ? waitingLabel(e.waitingFor) : 'signature',
        })
    return out.sort(byHash)
  }

  counts(): { valid: number; pending: number; rejected: number; statements: number } {
    let valid = 0
    let pending = 0
    let rejected = this.malformed.length
    for (const e of this.entries.values()) {
      if (e.kind === 'anchor') continue
      if (e.status === 'valid') valid++
      else if (e.status === 'rejected') rejected++
      else pending++
    }
    return { valid, pending, rejected, statements: this.statements.size }
  }

  /** Trust context lookups for tag states and tills. */
  deviceAuthority(device: PublicKey): DeviceAuthority | undefined {
    return this.trust.devices.get(keyOf(device))
  }
  /** Asset definitions in force, by asset id. */
  assetDefinitions(): AssetDefinition[] {
    return [...this.trust.assets.values()].sort((a, b) => (a.asset < b.asset ? -1 : 1))
  }
  /** Is `card` a staff card certified by `venue`? */
  isStaffCard(venue: PublicKey, card: CardId): boolean {
    return this.trust.staff.has(keyOf(venue) + keyOf(card))
  }
  /** The newest federation policy (null before any). */
  policy(): FederationPolicy | null {
    return this.trust.policy
  }
  /** Admitted venues (hex key and name). */
  venues(): Array<{ venue: string; name: string }> {
    return [...this.trust.venues.values()].map((v) => ({ venue: toHex(v.venue), name: v.name }))
  }
  /** The raw trust context (keys as latin1 strings); prefer the accessors above. */
  trustState(): TrustState {
    return this.trust
  }

  /**
   * Money conservation, proven from scratch: every valid record's postings sum to zero per asset, the
   * incremental account totals equal a full recomputation, and all accounts together sum to zero.
   */
  checkInvariants(): InvariantReport {
    const problems: string[] = []
    const recomputed = new Map<string, Map<string, number>>()
    const add = (acc: string, asset: string, d: number) => {
      const m = getOrCreate(recomputed, acc, () => new Map<string, number>())
      m.set(asset, (m.get(asset) ?? 0) + d)
    }
    if (this.anchors)
      for (const c of this.anchors.cards)
        for (const b of c.balances) {
          add(`c:${keyOf(c.card)}`, b.asset, b.amount)
          add('x:checkpoint', b.asset, -b.amount)
        }
    for (const e of this.entries.values()) {
      if (e.status !== 'valid' || e.kind === 'anchor') continue
      const rec = this.record(e)
      const venue = this.trust.devices.get(e.device)?.venueKey ?? ''
      let target: LedgerRecord | null = null
      if (rec.kind === 'void') target = this.record(this.entries.get(keyOf(rec.target))!)
      const postings = recordPostings(rec, venue, target)
      const sums = new Map<string, number>()
      for (const [acc, asset, d] of postings) {
        add(acc, asset, d)
        sums.set(asset, (sums.get(asset) ?? 0) + d)
      }
      for (const [asset, s] of sums)
        if (s !== 0) problems.push(`record ${toHex(bytesOfKey(e.key))} creates ${s} ${asset}`)
    }
    const totals: Record<string, number> = {}
    const accounts = new Set([...this.accounts.keys(), ...recomputed.keys()])
    for (const acc of accounts) {
      const a = this.accounts.get(acc) ?? new Map<string, number>()
      const b = recomputed.get(acc) ?? new Map<string, number>()
      for (const asset of new Set([...a.keys(), ...b.keys()])) {
        const x = a.get(asset) ?? 0
        const y = b.get(asset) ?? 0
        if (x !== y)
          problems.push(
            `account ${acc.slice(0, 2)}${toHex(bytesOfKey(acc.slice(2)))} ${asset}: ${x} != recomputed ${y}`,
          )
        totals[asset] = (totals[asset] ?? 0) + y
      }
    }
    for (const [asset, t] of Object.entries(totals))
      if (t !== 0) problems.push(`asset ${asset} sums to ${t}, not 0`)
    // for every card without fork or replacement, its chain tip carries the same balances
    for (const [ck, s] of this.cards) {
      if (s.forkSeqs.length > 0 || s.replacedBy.length > 0) continue
      const head = s.bySeq[s.bySeq.length - 1]
      if (typeof head !== 'string') continue
      const pos = positionOf(this.entries.get(head), ck)
      const tip = pos ? toAmounts(this.balanceAt(head, ck)).filter((x) => x.amount !== 0) : []
      const total = sortedAmounts(this.accounts.get(`c:${ck}`)).filter((x) => x.amount !== 0)
      if (JSON.stringify(tip) !== JSON.stringify(total))
        problems.push(
          `card ${toHex(bytesOfKey(ck))}: chain tip ${JSON.stringify(tip)} != total ${JSON.stringify(total)}`,
        )
    }
    return { ok: problems.length === 0, problems, totals }
  }

  /** A canonical summary of every view: equal on replicas that hold the same records. */
  snapshot(): Record<string, unknown> {
    const cards = [...this.cards.keys()].sort().map((ck) => this.card(bytesOfKey(ck)))
    const venues = [...this.accounts.keys()].filter((a) => a.startsWith('v:')).sort()
    return {
      counts: this.counts(),
      valid: [...this.entries.values()]
        .filter((e) => e.status === 'valid')
        .map((e) => toHex(bytesOfKey(e.key)))
        .sort(),
      rejected: this.rejected()
        .map((r) => `${r.hash}:${r.error.message}`)
        .sort(),
      cards,
      takings: venues.map((v) => [toHex(bytesOfKey(v.slice(2))), sortedAmounts(this.accounts.get(v))]),
      forks: this.forks().map((f) => ({ ...f, records: f.records.length })),
      tickets: [...this.tickets.keys()].sort().map((t) => this.ticketState(t)),
      memberships: [...this.membershipMap.keys()].sort().map((c) => this.memberships(bytesOfKey(c))),
      closeOuts: [...this.devices.keys()].sort().map((d) => this.closeOuts(bytesOfKey(d))),
    }
  }
}

function sortedAmounts(m: Map<string, number> | undefined): AssetAmount[] {
  if (!m) return []
  return [...m]
    .map(([asset, amount]) => ({ asset, amount }))
    .sort((a, b) => (a.asset < b.asset ? -1 : a.asset > b.asset ? 1 : 0))
}

function byHash<T extends { hash: string }>(a: T, b: T): number {
  return a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0
}

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key)
  if (v === undefined) {
    v = make()
    map.set(key, v)
  }
  return v
}

/** The kind byte of signed bytes without decoding them (0 when unreadable: decode reports why). */
function peekKind(bytes: Uint8Array): number {
  let i = 0
  while (i < bytes.length && i < 8 && (bytes[i]! & 0x80) !== 0) i++
  return bytes[i + 2] ?? 0
}

const WAITING_ON_HASH = '\u0000'
/** A rule name, or the hex hash of the predecessor a record waits for. */
function waitingLabel(w: string): string {
  return w.startsWith(WAITING_ON_HASH) ? toHex(bytesOfKey(w.slice(1))) : w
}
