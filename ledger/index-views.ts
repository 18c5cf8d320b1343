// The index's read side: balances, cards, takings, memberships, tickets, forks, gaps, rejected and
// pending records, trust accessors, the invariant checker and a canonical summary of every view.
import { toAmounts } from './balances.ts'
import { bytesOfKey, hexOfKey, keyOf, toHex, ZERO_HASH } from './bytes.ts'
import { decodeRecordUnchecked } from './codec.ts'
import { IndexProcessor } from './index-apply.ts'
import {
  byHash,
  getOrCreate,
  hexToBytes,
  positionOf,
  type RecordEntry,
  type Status,
  sortedAmounts,
  waitingLabel,
} from './index-state.ts'
import { recordPostings } from './postings.ts'
import type { DeviceAuthority, TrustState } from './trust.ts'
import type {
  AssetAmount,
  AssetDefinition,
  CardId,
  FederationPolicy,
  Hash,
  LedgerRecord,
  PublicKey,
} from './types.ts'
import type {
  CardView,
  CloseOutView,
  DeviceGap,
  ForkEvidence,
  InvariantReport,
  MembershipView,
  RejectedView,
  TicketView,
} from './views.ts'

export abstract class IndexViews extends IndexProcessor {
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
      yield { hash: hexOfKey(e.key), bytes, record: decodeRecordUnchecked(bytes) }
    }
  }

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

  /** Every card this index knows, in the order snapshot() lists them (one view at a time: card(id)). */
  cardIds(): CardId[] {
    return [...this.cards.keys()].sort().map(bytesOfKey)
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
      head: typeof head === 'string' ? hexOfKey(head) : null,
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
        hashes: list.map((k) => hexOfKey(k)),
        records: list.map((k) => this.bytesOf(this.entries.get(k)!)),
      }
    }
    for (const f of this.cardForks)
      out.push({
        type: 'card',
        subject: hexOfKey(f.card),
        seq: f.seq,
        ...evidence(this.cards.get(f.card)!.bySeq[f.seq]),
      })
    for (const f of this.deviceForks)
      out.push({
        type: 'device',
        subject: hexOfKey(f.device),
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
          gaps.push({ device: hexOfKey(dk), from, to: s - 1 })
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
        out.push({ hash: hexOfKey(e.key), bytes: this.bytesOf(e), error: e.error! })
    return out
  }

  pending(): Array<{ hash: string; waitingFor: string }> {
    const out = []
    for (const e of this.entries.values())
      if (e.status === 'pending' || e.status === 'verifying')
        out.push({
          hash: hexOfKey(e.key),
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
        if (s !== 0) problems.push(`record ${hexOfKey(e.key)} creates ${s} ${asset}`)
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
            `account ${acc.slice(0, 2)}${hexOfKey(acc.slice(2))} ${asset}: ${x} != recomputed ${y}`,
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
          `card ${hexOfKey(ck)}: chain tip ${JSON.stringify(tip)} != total ${JSON.stringify(total)}`,
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
        .map((e) => hexOfKey(e.key))
        .sort(),
      rejected: this.rejected()
        .map((r) => `${r.hash}:${r.error.message}`)
        .sort(),
      cards,
      takings: venues.map((v) => [hexOfKey(v.slice(2)), sortedAmounts(this.accounts.get(v))]),
      forks: this.forks().map((f) => ({ ...f, records: f.records.length })),
      tickets: [...this.tickets.keys()].sort().map((t) => this.ticketState(t)),
      memberships: [...this.membershipMap.keys()].sort().map((c) => this.memberships(bytesOfKey(c))),
      closeOuts: [...this.devices.keys()].sort().map((d) => this.closeOuts(bytesOfKey(d))),
    }
  }
}
