// The data model: statements (certificates and definitions, signed by an issuer key) and records
// (ledger operations, signed by a device, in its device chain and, when they move value, in card chains).
// Keys, hashes and card ids are raw bytes; amounts are safe integers in the asset's minor unit.

export type Bytes = Uint8Array
/** Raw 32-byte Ed25519 public key. */
export type PublicKey = Uint8Array
/** 32-byte SHA-256 content hash of a record's canonical unsigned bytes. */
export type Hash = Uint8Array

export const ROLES = ['admin', 'cashier', 'door', 'relay'] as const
export type Role = (typeof ROLES)[number]

export const ASSET_KINDS = ['euro', 'gift', 'time', 'loyalty', 'local'] as const
export type AssetKind = (typeof ASSET_KINDS)[number]

export const CARD_KINDS = ['signing', 'tag'] as const
export type CardKind = (typeof CARD_KINDS)[number]

/**
 * A card id says what kind of card it is, so no certificate is needed to know whether a record
 * on it must carry the card's own signature: 0x01 || 32-byte public key (signing card),
 * 0x02 || 4..10-byte UID (tag card).
 */
export type CardId = Uint8Array

// ---------------------------------------------------------------- statements

export interface StatementBase {
  /** Public key that signs the statement (federation or venue key). */
  issuer: PublicKey
  /** Advisory wall-clock time, ms since epoch. */
  time: number
}

/** Federation admits a venue (its venue key). */
export interface VenueAdmission extends StatementBase {
  kind: 'venue-admission'
  venue: PublicKey
  name: string
}

/** Venue certifies a device key with roles and a validity window (ms; notAfter 0 = open). */
export interface DeviceCertificate extends StatementBase {
  kind: 'device-certificate'
  device: PublicKey
  roles: Role[]
  notBefore: number
  notAfter: number
  label: string
}

/** Revocation by the device's venue or the federation: records with deviceSeq > cutoffSeq are invalid. */
export interface DeviceRevocation extends StatementBase {
  kind: 'device-revocation'
  device: PublicKey
  cutoffSeq: number
  reason: string
}

/** Venue certifies a staff card (a cashier opens a till session with it). */
export interface StaffCard extends StatementBase {
  kind: 'staff-card'
  card: CardId
  label: string
}

/** Venue issues a member card (directory entry; card kind is in the card id). */
export interface MemberCard extends StatementBase {
  kind: 'member-card'
  card: CardId
}

/** Asset definition by its issuer: the federation (e.g. euro) or a venue (gift, time, local...). */
export interface AssetDefinition extends StatementBase {
  kind: 'asset-definition'
  /** Short id, 1..24 bytes of UTF-8, unique in the federation, e.g. "EUR", "cafe1.gift". */
  asset: string
  assetKind: AssetKind
  decimals: number
  refundable: boolean
  /** Lowest balance a card may reach through its own chain (0: no credit; negative: credit line). */
  floor: number
  name: string
}

/** Federation policy; the highest version wins. Ceiling: max balance per asset a card of that kind may hold. */
export interface FederationPolicy extends StatementBase {
  kind: 'federation-policy'
  version: number
  offlineCeiling: Record<CardKind, number>
}

export type Statement =
  | VenueAdmission
  | DeviceCertificate
  | DeviceRevocation
  | StaffCard
  | MemberCard
  | AssetDefinition
  | FederationPolicy

// ---------------------------------------------------------------- records

/** A record's place in a card's chain. cardSeq starts at 1; cardPrev is all zeros for cardSeq 1. */
export interface ChainPosition {
  card: CardId
  cardSeq: number
  cardPrev: Hash
}

export interface RecordHeader {
  /** Device public key (the signer). */
  device: PublicKey
  /** Starts at 1, +1 per record of this device. */
  deviceSeq: number
  /** Hash of the device's record at deviceSeq - 1 (zeros for deviceSeq 1). */
  devicePrev: Hash
  /** Advisory wall-clock time, ms since epoch. */
  time: number
  /** Staff card that opened the till session (empty: none). */
  staff: CardId
}

export type TopUpMethod = 'cash' | 'bankcard' | 'online' | 'free'
export const TOP_UP_METHODS = ['cash', 'bankcard', 'online', 'free'] as const

export type PaymentMethod = 'card' | 'cash' | 'bankcard'
export const PAYMENT_METHODS = ['card', 'cash', 'bankcard'] as const

export type RefundMethod = 'cash' | 'bankcard'
export const REFUND_METHODS = ['cash', 'bankcard'] as const

export interface AssetAmount {
  asset: string
  amount: number
}

export interface SaleLine {
  product: string
  /** Non-zero; a deposit return is a line with a negative quantity (or negative unit price). */
  quantity: number
  /** Unit price in the line's asset minor units, VAT included. */
  unitPrice: number
  asset: string
  /** VAT rate in basis points (2000 = 20 %). */
  vatRate: number
}

export interface SalePayment {
  method: PaymentMethod
  asset: string
  /** Non-zero; negative = paid back (deposit returned onto the card or in cash). */
  amount: number
}

export interface TopUp extends RecordHeader {
  kind: 'top-up'
  chain: ChainPosition
  asset: string
  amount: number
  method: TopUpMethod
}

export interface Sale extends RecordHeader {
  kind: 'sale'
  /** Present when the sale touches a card (a 'card' payment). */
  chain: ChainPosition | null
  lines: SaleLine[]
  payments: SalePayment[]
}

export interface Refund extends RecordHeader {
  kind: 'refund'
  chain: ChainPosition
  asset: string
  amount: number
  method: RefundMethod
}

/** Card to card; the sending card must be a signing card and signs it; both cards are present. */
export interface Transfer extends RecordHeader {
  kind: 'transfer'
  chain: ChainPosition
  to: ChainPosition
  asset: string
  amount: number
}

/** Reverses one of this device's own sales; on the card's chain when the sale was. */
export interface Void extends RecordHeader {
  kind: 'void'
  chain: ChainPosition | null
  target: Hash
  reason: string
}

export interface MembershipGrant extends RecordHeader {
  kind: 'membership-grant'
  card: CardId
  plan: string
  validFrom: number
  validUntil: number
}

export interface TicketIssue extends RecordHeader {
  kind: 'ticket-issue'
  ticket: string
  event: string
  ticketType: string
  /** Card holding the ticket (empty: bearer ticket). */
  card: CardId
  validUntil: number
}

export interface CheckIn extends RecordHeader {
  kind: 'check-in'
  ticket: string
}

/** Card to member identity, encrypted (tweetnacl box/secretbox) for one venue. */
export interface CardLink extends RecordHeader {
  kind: 'card-link'
  card: CardId
  venue: PublicKey
  payload: Uint8Array
}

/** The lost card's balance at (lostCardSeq, lostHead) moves onto the new card (chain = new card). */
export interface CardReplace extends RecordHeader {
  kind: 'card-replace'
  lostCard: CardId
  lostCardSeq: number
  lostHead: Hash
  chain: ChainPosition
  moved: AssetAmount[]
}

export interface CheckpointCard {
  card: CardId
  cardSeq: number
  head: Hash
  balances: AssetAmount[]
}

export interface CheckpointDevice {
  device: PublicKey
  deviceSeq: number
  head: Hash
}

/** Signed summary from which an index can start without replaying history. */
export interface Checkpoint extends RecordHeader {
  kind: 'checkpoint'
  devices: CheckpointDevice[]
  cards: CheckpointCard[]
}

/** Z report: counted cash per asset for this device's records after the previous close-out. */
export interface TillCloseOut extends RecordHeader {
  kind: 'till-close-out'
  counted: AssetAmount[]
}

export type LedgerRecord =
  | TopUp
  | Sale
  | Refund
  | Transfer
  | Void
  | MembershipGrant
  | TicketIssue
  | CheckIn
  | CardLink
  | CardReplace
  | Checkpoint
  | TillCloseOut

export type RecordKind = LedgerRecord['kind']
export type StatementKind = Statement['kind']

/** Record without the header fields a DeviceChainWriter fills in. */
export type RecordBody = LedgerRecord extends infer R
  ? R extends LedgerRecord
    ? Omit<R, 'device' | 'deviceSeq' | 'devicePrev' | 'time' | 'staff'> & { time?: number; staff?: CardId }
    : never
  : never
