// The app's service layer: answers the WebSocket API by building ledger records from till, door and admin
// operations and appending them through the ledger backend (which signs and persists before resolving).
// Built from injected components (backend, card reader, catalog store) with start()/stop().

import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { renderSVG } from 'uqr'
import type { StaffDirectory, TillSession, TillSessionProof } from '../../hardware/mod.ts'
import type { Receipt } from '../../hardware/printers/mod.ts'
import { bytesEqual, fromHex, toHex } from '../../ledger/bytes.ts'
import { cardKindOf } from '../../ledger/codec.ts'
import { signingCardId, tagCardId } from '../../ledger/mod.ts'
import type { CardSigner } from '../../ledger/sign.ts'
import type { ChainPosition, RecordBody } from '../../ledger/types.ts'
import type {
  AssetView,
  CardView,
  EventName,
  Events,
  HistoryEntry,
  Method,
  Params,
  Result,
  SaleResult,
  SessionView,
  Snapshot,
} from '../shared/protocol.ts'
import type { CardReaderPort, PresentedCard } from './card-reader.ts'
import type { VenueCatalog } from './catalog-store.ts'
import { EnrollmentOffers, type EnrollmentPackage } from './enrollment.ts'
import {
  CapacityReachedError,
  CardFrozenError,
  InsufficientBalanceError,
  InvalidRequestError,
  NoSessionError,
  NotFoundError,
  NothingToVoidError,
  NotStaffError,
  RefundNotAllowedError,
  StaffSessionError,
  UnknownMethodError,
} from './errors.ts'
import type { LedgerBackend } from './ledger-backend.ts'
import { checkedInCount, doubleEntries, memberships, tickets, ticketView } from './member-views.ts'
import type { PrinterPort } from './printing.ts'
import { rethrowCardError } from './record-preflight.ts'
import {
  buildReport,
  effectiveSales,
  expectedCash,
  exportCsv,
  exportFec,
  SPLIT_PRODUCT,
  sinceLastCloseOut,
} from './reports.ts'
import { kitchenTickets, planRemainder, planSale, type SalePlan } from './sale-builder.ts'
import type { ApiHandler } from './ws-api.ts'

export interface VenueServiceOptions {
  backend: LedgerBackend
  reader: CardReaderPort
  catalog: VenueCatalog
  /** Kitchen tickets and receipt previews (a printer fault never blocks a sale). */
  printer?: PrinterPort
  /** Issuer keys this node holds (the demo admin holds the venue's and the federation's). */
  issuers?: IssuerPort
  /** Builds what a newly certified device starts from (node backend only). */
  enrollmentPackage?: (certificate: Uint8Array, roles: string[]) => Promise<EnrollmentPackage>
  clock?: () => number
  /** Every staff card proof of a till session (open and close), e.g. to keep them in a journal. */
  onSessionProof?: (proof: TillSessionProof & { staffCardId: string }) => void | Promise<void>
}

/** Signs statements with issuer keys and publishes them in the federation / venue documents. */
export interface IssuerPort {
  /** Signs a device certificate with the venue key and publishes it; returns the signed statement. */
  certifyDevice(device: Uint8Array, roles: string[], label: string): Promise<Uint8Array>
  defineVenueAsset(a: { asset: string; name: string; decimals: number; refundable: boolean }): Promise<void>
  admitVenue(name: string, venuePublicKey: Uint8Array): Promise<void>
}

/** Methods the API layer answers itself (pairing); the service never sees them. */
type ServiceMethod = Exclude<Method, 'client.whoami' | 'admin.pair.offer'>
type Handlers = { [M in ServiceMethod]: (params: Params<M>) => Promise<Result<M>> }

export class VenueService implements ApiHandler {
  private readonly emitter = new EventEmitter()
  private session: (SessionView & { staff: Uint8Array; tillSession?: TillSession }) | null = null
  /** One-time enrollment codes (admin.enroll.offer), redeemed over HTTP by the new device. */
  readonly offers: EnrollmentOffers
  /** Base URL of this node's app server (set once it listens), used in enrollment codes. */
  publicUrl = ''
  private readonly pendingRemainders = new Map<string, { remainder: number; asset: string }>()
  private unsubscribe: (() => void)[] = []
  private readonly now: () => number

  constructor(private readonly o: VenueServiceOptions) {
    this.now = o.clock ?? Date.now
    this.offers = new EnrollmentOffers(this.now)
  }

  /** POST /enroll: a new device redeems its code with its public key (see enrollment.ts). */
  async redeemEnrollment(body: unknown): Promise<unknown> {
    const issuers = this.o.issuers
    const pack = this.o.enrollmentPackage
    if (!issuers || !pack) throw new NotStaffError('this node cannot certify devices')
    return this.offers.redeem(body, {
      enroll: async (device, roles, label) => pack(await issuers.certifyDevice(device, roles, label), roles),
    })
  }

  async start(): Promise<void> {
    await this.o.backend.start()
    await this.o.reader.start?.()
    this.unsubscribe.push(
      this.o.backend.onChange((what) => {
        // Records arrive in bursts during catch-up: tell the browsers at most every 250 ms.
        if (what === 'records') this.recordsChanged ??= setTimeout(() => this.flushRecordsChanged(), 250)
        else this.emit('sync.status', this.o.backend.status())
      }),
      this.o.reader.onChange((card) => {
        if (card) this.emit('card.presented', this.cardView(card.cardId))
        else this.emit('card.removed', { cardId: '' })
      }),
      // Another admin's edit arriving by sync.
      this.o.catalog.onChange?.(() => this.emit('catalog.changed', {})) ?? (() => undefined),
    )
  }

  private recordsChanged: ReturnType<typeof setTimeout> | undefined

  private flushRecordsChanged(): void {
    this.recordsChanged = undefined
    this.emit('ledger.changed', { records: this.o.backend.status().records })
    this.emit('sync.status', this.o.backend.status())
    const present = this.o.reader.present()
    if (present) this.emit('card.presented', this.cardView(present.cardId))
  }

  async stop(): Promise<void> {
    clearTimeout(this.recordsChanged)
    for (const u of this.unsubscribe.splice(0)) u()
    await this.o.reader.stop?.()
    await this.o.backend.stop()
  }

  onEvent(listener: <E extends EventName>(event: E, data: Events[E]) => void): () => void {
    const l = (event: EventName, data: unknown) => listener(event, data as never)
    this.emitter.on('event', l)
    return () => this.emitter.off('event', l)
  }

  private emit<E extends EventName>(event: E, data: Events[E]): void {
    this.emitter.emit('event', event, data)
  }

  call<M extends Method>(method: M, params: Params<M>): Promise<Result<M>> {
    const handler = (this.handlers as Partial<Record<Method, unknown>>)[method]
    if (!handler) return Promise.reject(new UnknownMethodError(`unknown method ${method}`))
    return (handler as (p: Params<M>) => Promise<Result<M>>)(params)
  }

  // ------------------------------------------------------------------------------------------- views

  private assetViews(): AssetView[] {
    return this.o.backend.assets().map((a) => ({
      id: a.asset,
      name: this.o.catalog.assetName(a.asset) ?? a.name,
      symbol: this.o.catalog.assetSymbol(a.asset) ?? a.asset,
      decimals: a.decimals,
      refundable: a.refundable,
    }))
  }

  cardView(cardId: string): CardView {
    const card = fromHex(cardId)
    const state = this.o.backend.card(card)
    const known = this.o.reader.tappable().find((c) => c.cardId === cardId)
    const staff = this.o.backend.staffLabel(card)
    const records = this.o.backend.records()
    const catalog = this.o.catalog.get()
    const present = this.o.reader.present()
    return {
      cardId,
      kind: staff ? 'staff' : cardKindOf(card),
      label: known?.label ?? staff ?? cardId.slice(0, 12),
      balances: [...state.balances].map(([asset, amount]) => ({ asset, amount })),
      memberships: memberships(records, cardId, catalog.plans, this.now()),
      tickets: [...tickets(records).values()]
        .filter((t) => toHex(t.issue.card) === cardId)
        .map((t) => ticketView(t, catalog.events)),
      ...(present?.cardId === cardId && present.tagCardSeq !== undefined
        ? { onCard: { cardSeq: present.tagCardSeq, ledgerSeq: state.cardSeq } }
        : {}),
      frozen: state.frozen !== undefined,
      ...(state.frozen ? { frozenReason: state.frozen } : {}),
    }
  }

  private chainOf = (cardId: string): ChainPosition => {
    const card = fromHex(cardId)
    const s = this.o.backend.card(card)
    if (s.frozen) throw new CardFrozenError(`card is frozen (${s.frozen})`)
    return { card, cardSeq: s.cardSeq + 1, cardPrev: s.head }
  }

  /** The venue's certified staff cards, as hardware's StaffCardDriver asks for them. */
  private readonly staffDirectory: StaffDirectory = {
    lookup: (ref) => {
      const card = ref.kind === 'signing' && ref.publicKey ? signingCardId(ref.publicKey) : tagCardId(ref.uid)
      const name = this.o.backend.staffLabel(card)
      return name ? { name, roles: ['cashier'] } : undefined
    },
  }

  private sessionView(): SessionView | null {
    if (!this.session) return null
    const { staff: _, tillSession: __, ...view } = this.session
    return view
  }

  private requireSession(): SessionView & { staff: Uint8Array } {
    if (!this.session) throw new NoSessionError('no open till session')
    return this.session
  }

  /** The card signers a record on this card needs: a signing card signs only while on the reader. */
  private signersFor(cardId: string | null): CardSigner[] {
    if (!cardId) return []
    const presented: PresentedCard = this.o.reader.require(cardId)
    return presented.signer ? [presented.signer] : []
  }

  private async append(body: RecordBody, cardId: string | null) {
    const staff = this.session?.staff ?? new Uint8Array(0)
    const signed = await this.o.backend
      .append(body, this.signersFor(cardId), staff)
      .catch((e) =>
        rethrowCardError(e, cardId ? this.o.backend.card(fromHex(cardId)).cardSeq + 1 : undefined),
      )
    if (cardId && cardKindOf(fromHex(cardId)) === 'tag') {
      // The tag card carries its latest signed state: written after the record is on disk, so a card
      // pulled mid-write loses nothing (the ledger has it; the next tap rewrites the card).
      const s = this.o.backend.card(fromHex(cardId))
      const balances = [...s.balances].map(([asset, amount]) => ({ asset, amount }))
      await this.o.reader
        .recorded?.(cardId, { card: fromHex(cardId), cardSeq: s.cardSeq, head: s.head, balances })
        .catch((e) => console.warn(`tag card write failed: ${(e as Error).message}`))
    }
    return signed
  }

  private async commitSale(plan: SalePlan, kitchen: SaleResult['kitchenTickets']): Promise<SaleResult> {
    if (plan.cardId) {
      this.o.reader.require(plan.cardId)
      const balance = this.o.backend.card(fromHex(plan.cardId)).balances.get(plan.asset) ?? 0
      const paid = plan.body.payments.find((p) => p.method === 'card')?.amount ?? 0
      if (paid > balance) throw new InsufficientBalanceError(`balance ${balance} < ${paid}`)
    }
    const signed = await this.append(plan.body, plan.cardId)
    const saleId = toHex(signed.hash)
    if (plan.remainder > 0)
      this.pendingRemainders.set(saleId, { remainder: plan.remainder, asset: plan.asset })
    const products = this.o.catalog.get().products
    const lines = plan.body.lines.flatMap((l) => {
      const p = products.find((x) => x.id === l.product)
      return p && l.quantity > 0
        ? [{ productId: p.id, name: p.name, categoryId: p.categoryId, quantity: l.quantity }]
        : []
    })
    if (lines.length > 0 && kitchen.length > 0)
      await this.o.printer
        ?.printKitchen({
          orderId: saleId.slice(0, 16),
          number: saleId.slice(0, 4).toUpperCase(),
          createdAt: signed.record.time,
          lines,
        })
        .catch((e) => console.warn(`printing: ${(e as Error).message}`))
    const balancesAfter = plan.cardId
      ? [{ cardId: plan.cardId, balances: this.cardView(plan.cardId).balances }]
      : []
    const receipt = this.receipt(saleId, plan, signed.record.time, balancesAfter)
    return {
      saleId,
      remainder: plan.remainder,
      total: plan.total,
      asset: plan.asset,
      change: plan.change,
      balancesAfter,
      kitchenTickets: kitchen,
      ...(this.o.printer ? { receiptSvg: this.o.printer.receiptSvg(receipt) } : {}),
    }
  }

  private receipt(saleId: string, plan: SalePlan, time: number, after: SaleResult['balancesAfter']): Receipt {
    const asset = (id: string) => {
      const a = this.assetViews().find((x) => x.id === id)
      return { id, symbol: a?.symbol ?? id, decimals: a?.decimals ?? 2 }
    }
    const products = this.o.catalog.get().products
    return {
      venue: { name: this.o.backend.venueName },
      receiptId: saleId.slice(0, 12),
      createdAt: time,
      currency: asset(plan.asset),
      lines: plan.body.lines.map((l) => ({
        name: this.saleLabel(l.product),
        quantity: l.quantity,
        unitPrice: l.unitPrice,
        vatRate: l.vatRate,
        ...(products.find((p) => p.id === l.product)?.deposit ? { deposit: true } : {}),
      })),
      payments: plan.body.payments.map((p) => ({
        method: p.method === 'bankcard' ? ('bank-card' as const) : p.method,
        asset: asset(p.asset),
        amount: p.amount,
      })),
      ...(plan.change > 0 ? { change: plan.change } : {}),
      cardBalances: (after[0]?.balances ?? []).map((b) => ({ asset: asset(b.asset), balance: b.amount })),
    }
  }

  private saleLabel(product: string): string {
    if (product === SPLIT_PRODUCT) return 'split'
    const c = this.o.catalog.get()
    if (product.startsWith('plan:')) return c.plans.find((p) => `plan:${p.id}` === product)?.name ?? product
    if (product.startsWith('ticket:'))
      for (const e of c.events)
        for (const t of e.ticketTypes) if (`ticket:${t.id}` === product) return `${e.name} (${t.name})`
    return c.products.find((p) => p.id === product)?.name ?? product
  }

  // ---------------------------------------------------------------------------------------- handlers

  private readonly handlers: Handlers = {
    'state.get': async () => this.snapshot(),

    'session.open': async ({ staffCardId }) => {
      const reader = this.o.reader
      reader.require(staffCardId)
      const label = this.o.backend.staffLabel(fromHex(staffCardId))
      if (!label) throw new NotStaffError('not a staff card of this venue')
      const known = reader.tappable().find((c) => c.cardId === staffCardId)
      let tillSession: TillSession | undefined
      if (reader.openStaffSession) {
        // The staff card itself proves the opening (a signing card signs it with its counter).
        tillSession = await reader
          .openStaffSession(staffCardId, this.o.backend.deviceId, this.staffDirectory)
          .catch((e: unknown) => {
            throw e instanceof Error && e.name === 'NotStaffCardError' ? new NotStaffError(e.message) : e
          })
        await this.o.onSessionProof?.({ staffCardId, ...tillSession.opened })
      }
      this.session = {
        staffCardId,
        staffName: known?.label ?? label,
        openedAt: new Date(this.now()).toISOString(),
        staff: fromHex(staffCardId),
        ...(tillSession
          ? { tillSession, proof: tillSession.opened.signature ? 'card-signature' : 'card-uid' }
          : {}),
      }
      return this.sessionView()!
    },

    'session.close': async () => {
      const session = this.session
      const reader = this.o.reader
      if (session?.tillSession && reader.closeStaffSession) {
        // Only the card that opened the session closes it: tapped now, checked (and signed) by the driver.
        const closed = await reader
          .closeStaffSession(session.tillSession, this.staffDirectory)
          .catch((e: unknown) => {
            const message = e instanceof Error ? e.message : String(e)
            throw new StaffSessionError(`tap the staff card that opened the session (${message})`)
          })
        await this.o.onSessionProof?.({ staffCardId: session.staffCardId, ...closed })
      }
      this.session = null
      return null
    },

    'card.get': async ({ cardId }) => this.cardView(cardId),

    'card.history': async ({ cardId }) => this.history(cardId),

    'sale.pay': async (params) => {
      this.requireSession()
      const { products, categories } = this.o.catalog.get()
      const plan = planSale(products, params, this.chainOf)
      return this.commitSale(plan, kitchenTickets(products, categories, params.lines))
    },

    'sale.payRemainder': async ({ saleId, payments }) => {
      this.requireSession()
      const pending = this.pendingRemainders.get(saleId)
      if (!pending) throw new NotFoundError(`no remainder pending for sale ${saleId.slice(0, 12)}`)
      const plan = planRemainder(pending.remainder, pending.asset, payments, this.chainOf)
      const result = await this.commitSale(plan, [])
      this.pendingRemainders.delete(saleId)
      return result
    },

    'sale.voidLast': async () => {
      this.requireSession()
      const records = this.o.backend.records()
      const mine = effectiveSales(records).filter((r) => toHex(r.record.device) === this.o.backend.deviceId)
      const last = mine.sort((a, b) => b.record.deviceSeq - a.record.deviceSeq)[0]
      if (!last) throw new NothingToVoidError('no sale to void on this till')
      const cardId = last.record.chain ? toHex(last.record.chain.card) : null
      const body: RecordBody = {
        kind: 'void',
        chain: cardId ? this.chainOf(cardId) : null,
        target: fromHex(last.hash),
        reason: 'void last sale',
      }
      await this.append(body, cardId)
      return { voidedSaleId: last.hash }
    },

    'card.topUp': async ({ cardId, asset, amount, paidBy }) => {
      this.requireSession()
      await this.append(
        { kind: 'top-up', chain: this.chainOf(cardId), asset, amount, method: paidBy },
        cardId,
      )
      return this.cardView(cardId)
    },

    'card.refund': async ({ cardId, asset, amount }) => {
      this.requireSession()
      const def = this.o.backend.assets().find((a) => a.asset === asset)
      if (!def?.refundable) throw new RefundNotAllowedError(`${asset} is not refundable`)
      const balance = this.o.backend.card(fromHex(cardId)).balances.get(asset) ?? 0
      if (amount > balance) throw new RefundNotAllowedError(`balance ${balance} < ${amount}`)
      await this.append(
        { kind: 'refund', chain: this.chainOf(cardId), asset, amount, method: 'cash' },
        cardId,
      )
      return this.cardView(cardId)
    },

    'card.replace': async ({ lostCardId, newCardId }) => {
      if (lostCardId === newCardId)
        throw new InvalidRequestError('the new card must differ from the lost one')
      const lost = this.o.backend.card(fromHex(lostCardId))
      if (lost.frozen) throw new CardFrozenError(`card already frozen (${lost.frozen})`)
      const moved = [...lost.balances].filter(([, v]) => v > 0).map(([asset, amount]) => ({ asset, amount }))
      await this.append(
        {
          kind: 'card-replace',
          lostCard: fromHex(lostCardId),
          lostCardSeq: lost.cardSeq,
          lostHead: lost.head,
          chain: this.chainOf(newCardId),
          moved,
        },
        cardKindOf(fromHex(newCardId)) === 'signing' ? newCardId : null,
      )
      return this.cardView(newCardId)
    },

    'membership.sell': async ({ cardId, planId, paidBy }) => {
      this.requireSession()
      const plan = this.o.catalog.get().plans.find((p) => p.id === planId)
      if (!plan) throw new NotFoundError(`plan ${planId}`)
      await this.chargeItem(`plan:${plan.id}`, plan.price, plan.asset, 0, cardId, paidBy)
      const now = this.now()
      await this.append(
        {
          kind: 'membership-grant',
          card: fromHex(cardId),
          plan: plan.id,
          validFrom: now,
          validUntil: now + plan.days * 86_400_000,
        },
        null,
      )
      return this.cardView(cardId)
    },

    'ticket.sell': async ({ cardId, eventId, ticketTypeId, paidBy }) => {
      this.requireSession()
      const event = this.o.catalog.get().events.find((e) => e.id === eventId)
      const type = event?.ticketTypes.find((t) => t.id === ticketTypeId)
      if (!event || !type) throw new NotFoundError(`ticket type ${eventId}/${ticketTypeId}`)
      const sold = [...tickets(this.o.backend.records()).values()].filter(
        (t) => t.issue.event === eventId,
      ).length
      if (sold >= event.capacity) throw new CapacityReachedError(`${event.name} is full`)
      await this.chargeItem(`ticket:${type.id}`, type.price, type.asset, 550, cardId, paidBy)
      const code = `T-${randomBytes(6).toString('hex').toUpperCase()}`
      const validUntil = Date.parse(event.startsAt) + 86_400_000
      await this.append(
        {
          kind: 'ticket-issue',
          ticket: code,
          event: eventId,
          ticketType: type.id,
          card: fromHex(cardId),
          validUntil,
        },
        null,
      )
      return ticketView(
        { issue: { ticket: code, event: eventId, ticketType: type.id } as never, checkIns: [] },
        [event],
      )
    },

    'door.check': async ({ eventId, cardId, ticketCode }) => {
      const all = tickets(this.o.backend.records())
      const event = this.o.catalog.get().events.find((e) => e.id === eventId)
      if (!event) throw new NotFoundError(`event ${eventId}`)
      let ticket = ticketCode ? all.get(ticketCode) : undefined
      if (cardId) {
        if (this.o.backend.card(fromHex(cardId)).frozen)
          return { admitted: false, reason: 'card-frozen', cardId }
        const mine = [...all.values()].filter(
          (t) => toHex(t.issue.card) === cardId && t.issue.event === eventId,
        )
        ticket = mine.find((t) => t.checkIns.length === 0) ?? mine[0]
        if (!ticket) return { admitted: false, reason: 'no-ticket', cardId }
      }
      if (!ticket) return { admitted: false, reason: 'unknown-ticket' }
      const view = ticketView(ticket, [event])
      if (ticket.issue.event !== eventId) return { admitted: false, reason: 'wrong-event', ticket: view }
      if (ticket.checkIns.length > 0) {
        const here = ticket.checkIns.some((c) => c.device === this.o.backend.deviceId)
        return { admitted: false, reason: here ? 'already-used' : 'already-used-elsewhere', ticket: view }
      }
      if (checkedInCount(this.o.backend.records(), eventId) >= event.capacity)
        return { admitted: false, reason: 'full', ticket: view }
      await this.append({ kind: 'check-in', ticket: ticket.issue.ticket }, null)
      return { admitted: true, reason: 'ok', ticket: { ...view, used: true }, ...(cardId ? { cardId } : {}) }
    },

    'admin.product.save': async (p) => {
      if (!this.o.catalog.get().categories.some((c) => c.id === p.categoryId))
        throw new NotFoundError(`category ${p.categoryId}`)
      await this.o.catalog.update((c) => ({ ...c, products: upsert(c.products, p) }))
      this.emit('catalog.changed', {})
      return p
    },
    'admin.category.save': async (c) => {
      await this.o.catalog.update((cat) => ({ ...cat, categories: upsert(cat.categories, c) }))
      this.emit('catalog.changed', {})
      return c
    },
    'admin.asset.save': async (a) => {
      // A new asset is a definition statement signed by the venue key; names and symbols are display only.
      if (!this.o.backend.assets().some((x) => x.asset === a.id)) {
        if (!this.o.issuers)
          throw new NotFoundError(`asset ${a.id} has no signed definition and no venue key here`)
        await this.o.issuers.defineVenueAsset({
          asset: a.id,
          name: a.name,
          decimals: a.decimals,
          refundable: a.refundable,
        })
      }
      await this.o.catalog.update((c) => ({
        ...c,
        assetNames: { ...c.assetNames, [a.id]: { name: a.name, symbol: a.symbol } },
      }))
      this.emit('catalog.changed', {})
      return a
    },
    'admin.plan.save': async (p) => {
      await this.o.catalog.update((c) => ({ ...c, plans: upsert(c.plans, p) }))
      this.emit('catalog.changed', {})
      return p
    },
    'admin.event.save': async (e) => {
      await this.o.catalog.update((c) => ({ ...c, events: upsert(c.events, e) }))
      this.emit('catalog.changed', {})
      const records = this.o.backend.records()
      return { ...e, checkedIn: checkedInCount(records, e.id), doubleEntries: doubleEntries(records, e.id) }
    },
    'admin.enroll.offer': async ({ role, name }) => {
      const roles = role === 'till' ? ['cashier'] : [role]
      const { token, expiresAt } = this.offers.create(roles, name)
      const code = new URL(
        `enroll?token=${token}&name=${encodeURIComponent(name)}`,
        this.publicUrl || 'http://localhost/',
      ).href
      return { code, qrSvg: renderSVG(code), expiresAt: new Date(expiresAt).toISOString() }
    },
    'admin.federation.admit': async ({ venueName, venuePublicKey }) => {
      if (!this.o.issuers) throw new NotStaffError('this node does not hold a federation key')
      if (!/^[0-9a-f]{64}$/i.test(venuePublicKey))
        throw new InvalidRequestError('venue public key: 64 hex digits')
      await this.o.issuers.admitVenue(venueName, fromHex(venuePublicKey.toLowerCase()))
      return { admitted: venueName }
    },
    'admin.closeOut': async ({ countedCash, scope }) => {
      const records = this.o.backend.records()
      const devices =
        scope === 'device'
          ? [this.o.backend.deviceId]
          : [...new Set(records.map((r) => toHex(r.record.device)))]
      const open = devices.flatMap((d) => sinceLastCloseOut(records, d))
      const expected = expectedCash(open, 'EUR')
      const report = buildReport(open, {
        asset: 'EUR',
        productName: (id) => this.saleLabel(id),
        deviceName: (d) => this.o.backend.deviceLabelOf(d),
      })
      let closeOutId = ''
      if (scope === 'device') {
        const signed = await this.append(
          { kind: 'till-close-out', counted: [{ asset: 'EUR', amount: countedCash }] },
          null,
        )
        closeOutId = toHex(signed.hash)
      }
      return {
        closeOutId,
        device: scope === 'device' ? this.o.backend.deviceLabel : this.o.backend.venueName,
        expectedCash: expected,
        countedCash,
        difference: countedCash - expected,
        totals: report.byMethod.map((r) => ({ ...r, label: r.key })),
      }
    },
    'admin.report': async ({ asset }) =>
      buildReport(this.o.backend.records(), {
        asset: asset ?? 'EUR',
        productName: (id) => this.saleLabel(id),
        deviceName: (d) => this.o.backend.deviceLabelOf(d),
        utcOffsetMinutes: -new Date(this.now()).getTimezoneOffset(),
      }),
    'admin.export': async ({ format }) => {
      const records = this.o.backend.records()
      const day = new Date(this.now()).toISOString().slice(0, 10).replace(/-/g, '')
      return format === 'csv'
        ? { filename: `lakou-${day}.csv`, content: exportCsv(records, (id) => this.saleLabel(id)) }
        : { filename: `${day}FEC${day}.txt`, content: exportFec(records) }
    },
    'sim.tap': async ({ cardId }) => {
      await this.o.reader.tap(cardId)
      return this.cardView(cardId)
    },
    'sim.remove': async () => {
      await this.o.reader.remove()
      return null
    },
    'net.setOnline': async ({ online }) => {
      await this.o.backend.setOnline(online)
      return this.o.backend.status()
    },
  }

  /** Charges a single item (membership, ticket) as a sale, from the card on the reader or in cash/bank. */
  private async chargeItem(
    product: string,
    price: number,
    asset: string,
    vatBp: number,
    cardId: string,
    paidBy: string,
  ) {
    if (price === 0) return
    const line = { product, quantity: 1, unitPrice: price, asset, vatRate: vatBp }
    const method = paidBy === 'card' ? 'card' : paidBy === 'bankcard' ? 'bankcard' : 'cash'
    const onCard = method === 'card'
    if (onCard && (this.o.backend.card(fromHex(cardId)).balances.get(asset) ?? 0) < price)
      throw new InsufficientBalanceError('balance too low')
    await this.append(
      {
        kind: 'sale',
        chain: onCard ? this.chainOf(cardId) : null,
        lines: [line],
        payments: [{ method, asset, amount: price }],
      },
      onCard ? cardId : null,
    )
  }

  private history(cardId: string): HistoryEntry[] {
    const card = fromHex(cardId)
    const out: HistoryEntry[] = []
    const on = (pos: ChainPosition | null | undefined) =>
      pos !== null && pos !== undefined && bytesEqual(pos.card, card)
    for (const { hash, record: r } of this.o.backend.records()) {
      const at = new Date(r.time).toISOString()
      if (r.kind === 'top-up' && on(r.chain))
        out.push({
          id: hash,
          at,
          kind: r.kind,
          description: r.method,
          deltas: [{ asset: r.asset, amount: r.amount }],
        })
      else if (r.kind === 'refund' && on(r.chain))
        out.push({
          id: hash,
          at,
          kind: r.kind,
          description: '',
          deltas: [{ asset: r.asset, amount: -r.amount }],
        })
      else if (r.kind === 'sale' && on(r.chain))
        out.push({
          id: hash,
          at,
          kind: r.kind,
          description: r.lines.map((l) => `${l.quantity} × ${this.saleLabel(l.product)}`).join(', '),
          deltas: r.payments
            .filter((p) => p.method === 'card')
            .map((p) => ({ asset: p.asset, amount: -p.amount })),
        })
      else if (r.kind === 'void' && on(r.chain))
        out.push({ id: hash, at, kind: r.kind, description: '', deltas: [] })
      else if (r.kind === 'card-replace' && (on(r.chain) || bytesEqual(r.lostCard, card)))
        out.push({
          id: hash,
          at,
          kind: r.kind,
          description: on(r.chain) ? 'in' : 'out',
          deltas: r.moved.map((m) => ({ asset: m.asset, amount: on(r.chain) ? m.amount : -m.amount })),
        })
    }
    return out.sort((a, b) => b.at.localeCompare(a.at))
  }

  private snapshot(): Snapshot {
    const catalog = this.o.catalog.get()
    const records = this.o.backend.records()
    const present = this.o.reader.present()
    const session = this.sessionView()
    return {
      node: {
        venueName: this.o.backend.venueName,
        deviceName: this.o.backend.deviceLabel,
        deviceId: this.o.backend.deviceId,
        roles: ['till', 'door', 'admin', 'portal'],
        readerCards: this.o.reader.tappable(),
      },
      assets: this.assetViews(),
      categories: catalog.categories,
      products: catalog.products,
      plans: catalog.plans,
      events: catalog.events.map((e) => ({
        ...e,
        checkedIn: checkedInCount(records, e.id),
        doubleEntries: doubleEntries(records, e.id),
      })),
      session,
      sync: this.o.backend.status(),
      presentCard: present ? this.cardView(present.cardId) : null,
    }
  }
}

function upsert<T extends { id: string }>(list: T[], item: T): T[] {
  const i = list.findIndex((x) => x.id === item.id)
  return i < 0 ? [...list, item] : list.map((x, j) => (j === i ? item : x))
}
