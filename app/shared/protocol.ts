// The WebSocket API between the browser app and its node: JSON messages, one request -> one response,
// plus events the node pushes. Shared by app/server and app/src, so it stays pure (no Node, no DOM).
// Money is integers in the asset's minor unit.

export type PaidBy = 'cash' | 'bankcard'
export type Role = 'till' | 'door' | 'admin' | 'portal'

export interface AssetView {
  id: string
  name: string
  symbol: string
  decimals: number
  refundable: boolean
}

export interface CategoryView {
  id: string
  name: string
  /** Printer route for kitchen tickets; absent when the category is not printed. */
  printer?: string
}

export interface ProductView {
  id: string
  name: string
  categoryId: string
  /** Unit price in minor units of `asset`. A deposit product has a positive price; returns use qty < 0. */
  price: number
  asset: string
  /** VAT rate in basis points (2000 = 20 %). */
  vatBp: number
  deposit?: boolean
}

export interface PlanView {
  id: string
  name: string
  price: number
  asset: string
  days: number
}

export interface TicketTypeView {
  id: string
  name: string
  price: number
  asset: string
}

export interface EventView {
  id: string
  name: string
  startsAt: string
  capacity: number
  checkedIn: number
  /** Tickets let in by two different doors (seen after sync): double entries. */
  doubleEntries: string[]
  ticketTypes: TicketTypeView[]
}

export interface Balance {
  asset: string
  amount: number
}

export interface MembershipView {
  planId: string
  name: string
  validUntil: string
}

export interface TicketView {
  code: string
  eventId: string
  eventName: string
  typeName: string
  used: boolean
}

export interface CardView {
  cardId: string
  kind: 'signing' | 'tag' | 'staff'
  label: string
  balances: Balance[]
  memberships: MembershipView[]
  tickets: TicketView[]
  /** Tag card on the reader: cardSeq of the signed state it carries vs the newest this node knows. */
  onCard?: { cardSeq: number; ledgerSeq: number }
  frozen: boolean
  /** Why the card is frozen (fork seen, declared lost). */
  frozenReason?: string
}

export interface HistoryEntry {
  id: string
  at: string
  kind: string
  /** Sale: its lines; top-up: the method; card-replace: 'in' or 'out'. The UI words it per kind. */
  description: string
  /** Signed delta per asset for this card. */
  deltas: Balance[]
}

export interface SaleLineInput {
  productId: string
  /** Negative for a returned deposit. */
  qty: number
}

export type PaymentInput =
  | { method: 'card'; cardId: string; asset: string; amount: number }
  | { method: PaidBy; amount: number }

export interface SaleResult {
  saleId: string
  /** Left to pay with the next card or in cash (sale.payRemainder with this saleId). */
  remainder: number
  total: number
  asset: string
  /** Change to give back when paid in cash beyond the total. */
  change: number
  balancesAfter: { cardId: string; balances: Balance[] }[]
  kitchenTickets: { printer: string; lines: { name: string; qty: number }[] }[]
  receiptSvg?: string
}

export interface SessionView {
  staffCardId: string
  staffName: string
  openedAt: string
  /** How the staff card proved the opening: its signature (signing card) or only its UID (tag card). */
  proof?: 'card-signature' | 'card-uid'
}

export interface PeerStatus {
  peerId: string
  name: string
  connected: boolean
}

export interface SyncStatus {
  /** At least one peer connected and authenticated. */
  online: boolean
  /** The demo's network cut is on (every peer connection refused). */
  networkCut: boolean
  peers: PeerStatus[]
  /** Records this node holds, all devices included. */
  records: number
  /** Ledger pages still catching up from peers (unknown = -1). */
  pending: number
}

export interface ReaderCard {
  cardId: string
  label: string
  kind: CardView['kind']
}

export interface NodeInfo {
  venueName: string
  deviceName: string
  deviceId: string
  roles: Role[]
  readerCards: ReaderCard[]
}

export interface Snapshot {
  node: NodeInfo
  assets: AssetView[]
  categories: CategoryView[]
  products: ProductView[]
  plans: PlanView[]
  events: EventView[]
  session: SessionView | null
  sync: SyncStatus
  presentCard: CardView | null
}

export interface ReportRow {
  key: string
  label: string
  amount: number
  count: number
}

export interface Report {
  asset: string
  totalSales: number
  saleCount: number
  byHour: ReportRow[]
  byProduct: ReportRow[]
  byDevice: ReportRow[]
  byMethod: ReportRow[]
}

export interface CloseOutResult {
  closeOutId: string
  device: string
  expectedCash: number
  countedCash: number
  difference: number
  totals: ReportRow[]
}

export interface DoorResult {
  admitted: boolean
  /** Stable reason code, translated by the UI (e.g. 'already-used', 'no-ticket', 'unknown-ticket'). */
  reason: string
  cardId?: string
  ticket?: TicketView
}

export interface EnrollmentOffer {
  code: string
  qrSvg: string
  expiresAt: string
}

/** Who this browser is to its node: the role of its pairing (null: not paired, only pairing works). */
export interface ClientView {
  role: Role | null
  /** 'loopback': the demo's own machine, paired as admin without a code; 'code': paired with a code. */
  via: 'loopback' | 'code' | null
  name?: string
}

/** A short-lived pairing code (admin screen or node console): a browser that presents it gets a role. */
export interface PairingOffer {
  code: string
  role: Role
  /** URL that pairs with the code (shown as a QR code). */
  url: string
  qrSvg: string
  expiresAt: string
}

/** Every request the node answers: name -> [params, result]. */
export interface Api {
  'state.get': [Record<string, never>, Snapshot]
  'session.open': [{ staffCardId: string }, SessionView]
  'session.close': [Record<string, never>, null]
  'card.get': [{ cardId: string }, CardView]
  'card.history': [{ cardId: string }, HistoryEntry[]]
  'sale.pay': [{ lines: SaleLineInput[]; payments: PaymentInput[]; splitRemainder?: boolean }, SaleResult]
  'sale.payRemainder': [{ saleId: string; payments: PaymentInput[] }, SaleResult]
  'sale.voidLast': [Record<string, never>, { voidedSaleId: string }]
  'card.topUp': [{ cardId: string; asset: string; amount: number; paidBy: PaidBy | 'free' }, CardView]
  'card.refund': [{ cardId: string; asset: string; amount: number }, CardView]
  'card.replace': [{ lostCardId: string; newCardId: string }, CardView]
  'membership.sell': [{ cardId: string; planId: string; paidBy: PaidBy | 'card' }, CardView]
  'ticket.sell': [
    { cardId: string; eventId: string; ticketTypeId: string; paidBy: PaidBy | 'card' },
    TicketView,
  ]
  'door.check': [{ eventId: string; cardId?: string; ticketCode?: string }, DoorResult]
  'admin.product.save': [ProductView, ProductView]
  'admin.category.save': [CategoryView, CategoryView]
  'admin.asset.save': [AssetView, AssetView]
  'admin.plan.save': [PlanView, PlanView]
  'admin.event.save': [Omit<EventView, 'checkedIn' | 'doubleEntries'>, EventView]
  'admin.enroll.offer': [{ role: 'till' | 'door' | 'admin'; name: string }, EnrollmentOffer]
  'admin.federation.admit': [{ venueName: string; venuePublicKey: string }, { admitted: string }]
  'admin.closeOut': [{ countedCash: number; scope: 'device' | 'venue' }, CloseOutResult]
  'admin.report': [{ asset?: string }, Report]
  'admin.export': [{ format: 'csv' | 'fec' }, { filename: string; content: string }]
  'sim.tap': [{ cardId: string }, CardView]
  'sim.remove': [Record<string, never>, null]
  'net.setOnline': [{ online: boolean }, SyncStatus]
  /** Answered by the API layer for anyone, paired or not. */
  'client.whoami': [Record<string, never>, ClientView]
  'admin.pair.offer': [{ role: Role; name?: string }, PairingOffer]
}

export type Method = keyof Api
export type Params<M extends Method> = Api[M][0]
export type Result<M extends Method> = Api[M][1]

/** Events the node pushes to every connected browser. */
export interface Events {
  'card.presented': CardView
  'card.removed': { cardId: string }
  'sync.status': SyncStatus
  'ledger.changed': { records: number }
  'catalog.changed': Record<string, never>
}
export type EventName = keyof Events

export interface RequestMessage {
  id: number
  method: string
  params: unknown
}

export type ResponseMessage =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { name: string; message: string; details?: unknown } }

export interface EventMessage {
  event: EventName
  data: unknown
}

export const METHODS: readonly Method[] = [
  'state.get',
  'session.open',
  'session.close',
  'card.get',
  'card.history',
  'sale.pay',
  'sale.payRemainder',
  'sale.voidLast',
  'card.topUp',
  'card.refund',
  'card.replace',
  'membership.sell',
  'ticket.sell',
  'door.check',
  'admin.product.save',
  'admin.category.save',
  'admin.asset.save',
  'admin.plan.save',
  'admin.event.save',
  'admin.enroll.offer',
  'admin.federation.admit',
  'admin.closeOut',
  'admin.report',
  'admin.export',
  'sim.tap',
  'sim.remove',
  'net.setOnline',
  'client.whoami',
  'admin.pair.offer',
]
