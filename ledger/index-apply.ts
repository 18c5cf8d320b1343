// Applying records: the pending queue (a record waits until its predecessors and certificates
// arrive), the rules that need the valid history (evaluate), commit of a record's effect, trust
// changes and the re-derivation they may trigger.
import { type Balances, balanceOf, EMPTY_BALANCES, fromAmounts, toAmounts, withDelta } from './balances.ts'
import { bytesEqual, hexOfKey, keyOf, toHex } from './bytes.ts'
import { cardKindOf, SIGNING_CARD_PREFIX } from './codec.ts'
import { LedgerRuleError, type Rule } from './errors.ts'
import {
  CASH,
  type CardPos,
  type Effect,
  IndexState,
  positionOf,
  type RecordEntry,
  reject,
  WAITING_ON_HASH,
} from './index-state.ts'
import { recordPostings } from './postings.ts'
import { chainPositions } from './sign.ts'
import { buildTrust, type DeviceAuthority, offlineCeiling, type StatementEntry } from './trust.ts'
import type { CardId, Checkpoint, Hash, LedgerRecord, Statement } from './types.ts'
import { assetsOf, checkRecordShape, oneAssetSaleTotals, ROLES_FOR_KIND, saleTotals } from './validate.ts'

export abstract class IndexProcessor extends IndexState {
  protected trustChanged(added: Statement[]): void {
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
  protected rebuild(): void {
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

  protected drain(): void {
    while (this.queue.length > 0) this.process(this.queue.pop()!)
  }

  /** Apply at most `budget` queued records; the rest stays queued for the next call. */
  protected drainSome(budget: number): void {
    for (let n = 0; n < budget && this.queue.length > 0; n++) this.process(this.queue.pop()!)
  }

  // Waiting records keep only their bytes (decoded again when woken): first sync of a busy federation
  // can hold most records pending at once, and a decoded record costs ~10x its bytes.
  protected wait(entry: RecordEntry, on: string): void {
    entry.waitingFor = WAITING_ON_HASH + on // shared key string; shown as hex by pending() and results
    entry.rec = null
    // one waiter is a plain string (a push-grown array would reserve ~17 slots)
    const cur = this.waiters.get(on)
    if (cur === undefined) this.waiters.set(on, entry.key)
    else if (typeof cur === 'string') this.waiters.set(on, [cur, entry.key])
    else cur.push(entry.key)
  }

  protected waitTrust(entry: RecordEntry, rule: Rule): void {
    entry.waitingFor = rule
    entry.rec = null
    this.trustWaiters.add(entry.key)
  }

  protected process(key: string): void {
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
    if (!this.assetsKnown(rec)) {
      this.waitTrust(entry, 'unknown-asset')
      return
    }
    if (rec.staff.length > 0 && !this.trust.staff.has(device.venueKey + keyOf(rec.staff))) {
      this.waitTrust(entry, 'staff-not-certified')
      return
    }

    // other predecessors: card chains (they carry balances: must be valid), void target, lost card head
    // (checked in this order, without building a list: this runs for every record, often twice)
    const chains = chainPositions(rec)
    for (let i = 0; i < chains.length; i++)
      if (chains[i]!.cardSeq > 1 && !this.depReady(entry, chains[i]!.cardPrev, 'card-chain')) return
    if (rec.kind === 'void' && !this.depReady(entry, rec.target, 'void')) return
    if (rec.kind === 'card-replace' && rec.lostCardSeq > 0 && !this.depReady(entry, rec.lostHead, 'replace'))
      return

    let effect: Effect
    try {
      checkRecordShape(rec)
      effect = this.evaluate(rec, device, entry.key, entry.device)
    } catch (err) {
      if (err instanceof LedgerRuleError) {
        this.finishRejected(entry, err)
        return
      }
      throw err
    }
    this.commit(entry, rec, effect)
  }

  /**
   * Would this index accept `rec` now, its signatures assumed valid? The checks process() runs, in its
   * order (device chain, trust, card chain, shape, then evaluate: role, ceiling, floor, assets, refund,
   * sale lines...), with the effect computed and discarded: nothing in the index changes. Returns the
   * refusal, or null. A record that would wait (a predecessor, certificate or asset missing) is refused
   * too, with the rule it would wait on: a signing card must sign only what the ledger applies now, or
   * its counter runs ahead of the card's chain. Signatures, duplicates and forks are not checked.
   */
  preflight(rec: LedgerRecord): LedgerRuleError | null {
    // move() interns card keys: drop the ones this call added (the index is left as it was)
    const fresh = chainPositions(rec)
      .map((c) => keyOf(c.card))
      .filter((ck) => !this.interned.has(ck))
    try {
      const anchorSeq = this.anchors ? this.anchorSeqs.get(keyOf(rec.device)) : undefined
      if (anchorSeq !== undefined && rec.deviceSeq <= anchorSeq)
        reject('device-chain', `deviceSeq ${rec.deviceSeq} is covered by the checkpoint`)
      if (rec.deviceSeq > 1) {
        const prev = this.entries.get(keyOf(rec.devicePrev))
        if (!prev?.sigOk || (prev.status !== 'valid' && prev.status !== 'rejected'))
          reject('device-chain', 'devicePrev is not known here: the record would wait')
      }
      const device = this.trust.devices.get(keyOf(rec.device))
      if (!device) reject('device-not-certified', 'the record would wait for a certificate')
      if (!this.assetsKnown(rec)) reject('unknown-asset', 'the record would wait for an asset definition')
      if (rec.staff.length > 0 && !this.trust.staff.has(device.venueKey + keyOf(rec.staff)))
        reject('staff-not-certified', 'the record would wait for a staff certificate')
      for (const c of chainPositions(rec)) if (c.cardSeq > 1) this.preflightDep(c.cardPrev, 'card-chain')
      if (rec.kind === 'void') this.preflightDep(rec.target, 'void')
      if (rec.kind === 'card-replace' && rec.lostCardSeq > 0) this.preflightDep(rec.lostHead, 'replace')
      checkRecordShape(rec)
      this.evaluate(rec, device, '', keyOf(rec.device))
      return null
    } catch (err) {
      if (err instanceof LedgerRuleError) return err
      throw err
    } finally {
      for (const ck of fresh) this.interned.delete(ck)
    }
  }

  /** preflight's depReady: a predecessor that is not valid refuses the record (rejected or would wait). */
  private preflightDep(hash: Hash, rule: Rule): void {
    const dep = this.entries.get(keyOf(hash))
    if (dep?.status === 'rejected' && dep.sigOk) reject(rule, `predecessor ${toHex(hash)} is rejected`)
    if (dep?.status !== 'valid')
      reject(rule, `predecessor ${toHex(hash)} is not valid here: the record would wait`)
  }

  /** Is predecessor `hash` valid? Otherwise the entry waits for it, or is rejected with it. */
  protected depReady(entry: RecordEntry, hash: Hash, rule: Rule): boolean {
    const dk = keyOf(hash)
    const dep = this.entries.get(dk)
    if (dep?.status === 'rejected' && dep.sigOk) {
      this.finishRejected(entry, new LedgerRuleError(rule, `predecessor ${toHex(hash)} is rejected`))
      return false
    }
    if (dep?.status !== 'valid') {
      this.wait(entry, dk)
      return false
    }
    return true
  }

  /** Are all the record's assets defined (same set as assetsOf, without allocating)? */
  protected assetsKnown(rec: LedgerRecord): boolean {
    const known = this.trust.assets
    switch (rec.kind) {
      case 'top-up':
      case 'refund':
      case 'transfer':
        return known.has(rec.asset)
      case 'sale':
        for (const l of rec.lines) if (!known.has(l.asset)) return false
        for (const p of rec.payments) if (!known.has(p.asset)) return false
        return true
      default:
        for (const a of assetsOf(rec)) if (!known.has(a)) return false
        return true
    }
  }

  protected finishRejected(entry: RecordEntry, error: LedgerRuleError): void {
    entry.status = 'rejected'
    entry.error = error
    entry.waitingFor = null
    entry.rec = null
    this.wake(entry.key)
  }

  protected wake(key: string): void {
    const list = this.waiters.get(key)
    if (list === undefined) return
    this.waiters.delete(key)
    if (typeof list === 'string') this.queue.push(list)
    else for (const k of list) this.queue.push(k)
  }

  /**
   * The rules that need the valid history. Throws LedgerRuleError; returns the record's effect.
   * `deviceKey` is keyOf(rec.device) (the entry has it interned).
   */
  protected evaluate(rec: LedgerRecord, device: DeviceAuthority, key: string, deviceKey: string): Effect {
    // runs once per record: plain loops and methods instead of closures (allocation, GC)
    const roles = ROLES_FOR_KIND[rec.kind]
    let roleOk = false
    for (let i = 0; i < roles.length && !roleOk; i++) roleOk = device.roles.has(roles[i]!)
    if (!roleOk) reject('device-role', `${rec.kind} needs one of ${roles.join('/')}`)
    if (rec.deviceSeq > device.cutoff)
      reject('device-revoked', `deviceSeq ${rec.deviceSeq} > cutoff ${device.cutoff}`)
    let inWindow = false
    for (let i = 0; i < device.windows.length && !inWindow; i++) {
      const w = device.windows[i]!
      inWindow = rec.time >= w.notBefore && (w.notAfter === 0 || rec.time <= w.notAfter)
    }
    if (!inWindow) reject('device-validity', `time ${rec.time} outside the certificate validity`)

    if (rec.deviceSeq > 1) {
      const prev = this.entries.get(keyOf(rec.devicePrev))!
      if (prev.device !== deviceKey || prev.deviceSeq !== rec.deviceSeq - 1)
        reject('device-chain', `devicePrev is not this device's record ${rec.deviceSeq - 1}`)
    }
    const before = new Map<string, Balances>()
    const prevs: Array<[RecordEntry, string]> = []
    for (const c of chainPositions(rec)) {
      const ck = keyOf(c.card)
      if (c.cardSeq === 1) {
        before.set(ck, EMPTY_BALANCES)
        continue
      }
      const prevKey = keyOf(c.cardPrev)
      const prev = this.entries.get(prevKey)
      const pos = positionOf(prev, ck)
      if (!pos || pos.cardSeq !== c.cardSeq - 1)
        reject('card-chain', `cardPrev is not this card's record ${c.cardSeq - 1}`)
      before.set(ck, pos.after ?? this.balanceAt(prevKey, ck))
      prevs.push([prev!, ck])
    }
    const assets = this.trust.assets
    const postings = recordPostings(rec, device.venueKey, null)
    const cards: CardPos[] = []
    let views: (() => void) | undefined

    switch (rec.kind) {
      case 'top-up': {
        const def = assets.get(rec.asset)!
        const issuerKey = keyOf(def.issuer)
        const byFederation = this.trust.federation.has(issuerKey)
        if (!byFederation && issuerKey !== device.venueKey)
          reject('asset-issuer', `${rec.asset} is issued by another venue`)
        if (byFederation && rec.method === 'free')
          reject('asset-issuer', `only the issuer mints ${rec.asset} for free`)
        this.moveAsset(rec.time, before, cards, rec.chain.card, rec.chain.cardSeq, rec.asset, rec.amount)
        break
      }
      case 'sale': {
        for (const p of rec.payments)
          if (p.method !== 'card' && assets.get(p.asset)!.assetKind !== 'euro')
            reject('payment', `${p.method} payment in ${p.asset}, which is not a euro asset`)
        if (rec.chain) {
          // the usual sale names one asset: its card total without maps
          const one = oneAssetSaleTotals(rec)
          if (one?.byCard)
            this.moveAsset(rec.time, before, cards, rec.chain.card, rec.chain.cardSeq, one.asset, -one.card)
          else {
            const deltas = new Map<string, number>()
            for (const [a, v] of saleTotals(rec).card) deltas.set(a, -v)
            this.move(rec.time, before, cards, rec.chain.card, rec.chain.cardSeq, deltas, true)
          }
        }
        break
      }
      case 'refund': {
        if (!assets.get(rec.asset)!.refundable) reject('refund', `${rec.asset} is not refundable`)
        const have = balanceOf(before.get(keyOf(rec.chain.card))!, rec.asset)
        if (rec.amount > have) reject('refund', `refund ${rec.amount} > refundable balance ${have}`)
        this.moveAsset(rec.time, before, cards, rec.chain.card, rec.chain.cardSeq, rec.asset, -rec.amount)
        break
      }
      case 'transfer':
        this.moveAsset(rec.time, before, cards, rec.chain.card, rec.chain.cardSeq, rec.asset, -rec.amount)
        this.moveAsset(rec.time, before, cards, rec.to.card, rec.to.cardSeq, rec.asset, rec.amount)
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
        if (rec.chain)
          this.move(
            rec.time,
            before,
            cards,
            rec.chain.card,
            rec.chain.cardSeq,
            saleTotals(target).card,
            false,
          )
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
        this.move(
          rec.time,
          before,
          cards,
          rec.chain.card,
          rec.chain.cardSeq,
          new Map(moved.map((m) => [m.asset, m.amount])),
          false,
        )
        views = () => this.cardState(lostKey, cardKindOf(rec.lostCard)).replacedBy.push(hexOfKey(key))
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
            hash: hexOfKey(key),
          })
          this.membershipMap.set(k, list)
        }
        break
      case 'ticket-issue':
        views = () =>
          this.ticket(rec.ticket).issues.push({
            hash: hexOfKey(key),
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
            hash: hexOfKey(key),
            device: toHex(rec.device),
            time: rec.time,
          })
        break
      case 'card-link':
        views = () => {
          const k = keyOf(rec.card)
          const list = this.links.get(k) ?? []
          list.push({ venue: toHex(rec.venue), payload: rec.payload, hash: hexOfKey(key) })
          this.links.set(k, list)
        }
        break
      case 'checkpoint':
        views = () => this.checkpoints.push(hexOfKey(key))
        break
      case 'till-close-out':
        views = () => {
          const dev = this.deviceState(keyOf(rec.device))
          dev.closeOuts.push({
            hash: hexOfKey(key),
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

  /** Path balance after a record for one card position; checks floor on debits, ceiling on credits. */
  protected move(
    time: number,
    before: Map<string, Balances>,
    cards: CardPos[],
    card: CardId,
    cardSeq: number,
    deltas: Map<string, number>,
    checkLimits: boolean,
  ): void {
    const ck = keyOf(card)
    let b = before.get(ck)!
    for (const [a, d] of deltas) b = this.applyDelta(time, b, card, a, d, checkLimits)
    cards.push({ card: this.intern(ck), cardSeq, after: b })
  }

  /** move() of one asset, limits checked (top-up, refund, transfer, the usual sale: no map per record). */
  protected moveAsset(
    time: number,
    before: Map<string, Balances>,
    cards: CardPos[],
    card: CardId,
    cardSeq: number,
    asset: string,
    delta: number,
  ): void {
    const ck = keyOf(card)
    const b = this.applyDelta(time, before.get(ck)!, card, asset, delta, true)
    cards.push({ card: this.intern(ck), cardSeq, after: b })
  }

  private applyDelta(
    time: number,
    b: Balances,
    card: CardId,
    a: string,
    d: number,
    checkLimits: boolean,
  ): Balances {
    b = withDelta(b, a, d)
    const after = balanceOf(b, a)
    if (!Number.isSafeInteger(after)) reject('amount', 'balance overflow')
    if (checkLimits && d < 0) {
      const floor = this.trust.assets.get(a)!.floor
      if (after < floor) reject('floor', `${a} would be ${after} < floor ${floor}`)
    }
    if (checkLimits && d > 0) {
      const ceiling = offlineCeiling(this.trust, cardKindOf(card), time)
      if (after > ceiling)
        reject('offline-ceiling', `${a} would be ${after} > ceiling ${ceiling} for ${cardKindOf(card)} cards`)
    }
    return b
  }

  protected commit(entry: RecordEntry, rec: LedgerRecord, effect: Effect): void {
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
    if (IndexState.place(dev.bySeq, rec.deviceSeq, entry.key)) {
      if (!dev.forkSeqs.includes(rec.deviceSeq)) {
        dev.forkSeqs.push(rec.deviceSeq)
        this.deviceForks.push({ device: dk, seq: rec.deviceSeq })
      }
    }
    // the predecessor is no longer a tip: drop its stored path balance (recomputed if a fork needs it)
    for (const [prev, ck] of effect.prevs) {
      if (prev.kind === 'anchor') continue
      if (prev.card1 === ck) prev.after1 = null
      else if (prev.pos2?.card === ck) prev.pos2 = { card: ck, cardSeq: prev.pos2.cardSeq, after: null }
    }
    for (const pos of effect.cards) {
      // the key's first char is the card id's kind byte (no bytes copy per commit)
      const cs = this.cardState(pos.card, pos.card.charCodeAt(0) === SIGNING_CARD_PREFIX ? 'signing' : 'tag')
      if (IndexState.place(cs.bySeq, pos.cardSeq, entry.key) && !cs.forkSeqs.includes(pos.cardSeq)) {
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

  protected applyAnchors(cp: Checkpoint): void {
    // anchors made by this call: on a rebuild the previous call's anchors are still there, and a card
    // position must replace theirs, not be added as a second one (the snapshot rebuilds chains from them)
    const made = new Set<string>()
    const anchor = (key: string, device: string, deviceSeq: number, pos: CardPos | null) => {
      const existing = this.entries.get(key)
      if (existing && existing.kind !== 'anchor') return
      made.add(key)
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
      if (e?.kind === 'anchor' && made.has(hk) && e.card1 === null) {
        e.card1 = pos.card
        e.seq1 = pos.cardSeq
        e.after1 = pos.after
      } else if (e?.kind === 'anchor' && made.has(hk)) e.pos2 = pos
      else anchor(hk, '', 0, pos)
      this.cardState(ck, cardKindOf(c.card)).bySeq[c.cardSeq] = hk
      for (const b of c.balances) {
        this.post(`c:${ck}`, b.asset, b.amount)
        this.post('x:checkpoint', b.asset, -b.amount)
      }
    }
  }
}
