// The shapes LedgerIndex returns (its public views).
import type { LedgerDecodeError, LedgerRuleError } from './errors.ts'
import type { AssetAmount, CardKind, PublicKey } from './types.ts'

/** 'covered': already summarised by the imported checkpoint (kept, not applied again). */
export type IngestStatus = 'valid' | 'pending' | 'rejected' | 'duplicate' | 'covered'

export interface IngestResult {
  /** Hex content hash ('' when the bytes could not be decoded). */
  hash: string
  type: 'record' | 'statement' | 'malformed'
  status: IngestStatus
  error?: LedgerRuleError | LedgerDecodeError
  /** For pending items: what they wait for (a hex hash, or a rule such as 'device-not-certified'). */
  waitingFor?: string
}

export interface LedgerIndexOptions {
  /** Federation root key(s). */
  federation: PublicKey | PublicKey[]
  /** Signature verifications in flight at once (WebCrypto runs them on the thread pool). */
  concurrency?: number
  /**
   * A batch of at most this many records is verified on the calling thread where the runtime can (Node's
   * synchronous node:crypto verify), not through the thread pool (default 8; 0: always the pool).
   */
  verifyInlineMax?: number
}

export interface ForkEvidence {
  type: 'card' | 'device'
  /** Hex card id or device key. */
  subject: string
  seq: number
  /** The conflicting records (hex hashes) and their bytes: self-verifying evidence. */
  hashes: string[]
  records: Uint8Array[]
}

export interface DeviceGap {
  device: string
  /** Missing deviceSeq range [from, to] below records that wait for it. */
  from: number
  to: number
}

export interface CardView {
  card: string
  kind: CardKind
  balances: AssetAmount[]
  /** Highest valid cardSeq and its head (null head when forked at that seq). */
  cardSeq: number
  head: string | null
  frozen: boolean
  forkSeqs: number[]
  replacedBy: string[]
}

export interface MembershipView {
  plan: string
  venue: string
  validFrom: number
  validUntil: number
  hash: string
}

export interface TicketView {
  ticket: string
  state: 'issued' | 'checked-in' | 'unknown'
  issues: Array<{
    hash: string
    event: string
    ticketType: string
    card: string
    validUntil: number
    venue: string
  }>
  checkIns: Array<{ hash: string; device: string; time: number }>
  /** More than one issue with different hashes, or more than one check-in. */
  conflict: boolean
}

export interface CloseOutView {
  hash: string
  deviceSeq: number
  expected: AssetAmount[]
  counted: AssetAmount[]
}

export interface RejectedView {
  hash: string
  bytes: Uint8Array
  error: LedgerRuleError | LedgerDecodeError
}

export interface InvariantReport {
  ok: boolean
  problems: string[]
  /** Per asset: sum over all accounts (cards, venues, outside world) - always 0 when money is conserved. */
  totals: Record<string, number>
}
