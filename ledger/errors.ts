// One error class per failure kind, each with a stable `name` (js-libp2p style).

/** Bytes that are not a canonical encoding of any record, statement or card state. */
export class LedgerDecodeError extends Error {
  static readonly NAME = 'LedgerDecodeError'
  override readonly name = LedgerDecodeError.NAME
  constructor(
    /** Stable machine code, e.g. 'truncated', 'non-canonical', 'unknown-kind'. */
    readonly code: string,
    detail = '',
  ) {
    super(detail ? `${code}: ${detail}` : code)
  }
}

/** Every validation rule a record, statement or presented card state can break. */
export const RULES = [
  // signatures and identities
  'signature', // the device / issuer signature does not verify
  'card-signature', // a signing card's signature is missing or does not verify
  'issuer-not-authorised', // statement signed by a key that may not issue it
  'device-not-certified', // no certificate of an admitted venue for this device
  'device-role', // the device's roles do not allow this record kind
  'device-revoked', // deviceSeq above the device's revocation cutoff
  'device-validity', // record time outside the certificate's validity window
  'staff-not-certified', // the staff card is not certified by the device's venue
  // chains
  'device-chain', // devicePrev does not match the known record at deviceSeq - 1
  'card-chain', // cardPrev does not match the card's record at cardSeq - 1
  'card-counter', // cardSeq outside the signing card counter range (1..2^32-1)
  'card-kind', // operation not allowed for this card kind (e.g. transfer from a tag card)
  // amounts and assets
  'amount', // not a safe integer, or not positive where it must be
  'unknown-asset', // asset not defined (after its definition arrives the record is re-evaluated)
  'asset-issuer', // only the issuing venue may mint (free top-up) or top up a venue asset
  'floor', // the card balance would go below the asset floor
  'offline-ceiling', // a card balance above the federation policy ceiling for its card kind
  'sale-balance', // a sale's lines do not add up to its payments, per asset
  'payment', // payment method not allowed here (card payment without card, cash in a non-euro asset)
  'refund', // refund of a non-refundable asset or above the refundable balance
  'void', // void target missing from this device's chain, not a sale, or already voided
  'replace', // card replacement does not move exactly the lost card's balance at the named head
  'validity', // a membership or ticket with an empty validity window
  'checkpoint', // a checkpoint that contradicts the derived state
  // tag card state
  'tag-rollback', // presented card state is older than the newest known
  'tag-fork', // presented card state has the newest cardSeq but another head
  'tag-signer', // card state signed by a key that is not a certified device
] as const
export type Rule = (typeof RULES)[number]

/** A well-formed record, statement or card state that breaks a ledger rule. */
export class LedgerRuleError extends Error {
  static readonly NAME = 'LedgerRuleError'
  override readonly name = LedgerRuleError.NAME
  constructor(
    readonly rule: Rule,
    detail = '',
  ) {
    super(detail ? `${rule}: ${detail}` : rule)
  }
}

/** Bad key material handed to the key functions (wrong length, unusable key). */
export class LedgerKeyError extends Error {
  static readonly NAME = 'LedgerKeyError'
  override readonly name = LedgerKeyError.NAME
}

/** A builder asked to produce something invalid (caught before signing, nothing is lost). */
export class LedgerInputError extends Error {
  static readonly NAME = 'LedgerInputError'
  override readonly name = LedgerInputError.NAME
}

/**
 * A local state snapshot that cannot be restored: `code` is 'corrupt' (hash mismatch, truncated or
 * unreadable bytes), 'version' (an unknown snapshot format) or 'federation-mismatch' (taken under
 * other federation keys). The caller falls back to re-ingesting its records.
 */
export class LedgerSnapshotError extends Error {
  static readonly NAME = 'LedgerSnapshotError'
  override readonly name = LedgerSnapshotError.NAME
  constructor(
    readonly code: 'corrupt' | 'version' | 'federation-mismatch',
    detail = '',
  ) {
    super(detail ? `${code}: ${detail}` : code)
  }
}
