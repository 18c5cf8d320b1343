// The ledger's public surface. Other parts import only from here.
export type { Balances } from './balances.ts'
export { bytesEqual, concatBytes, fromHex, toHex, ZERO_HASH } from './bytes.ts'
export {
  cardKindOf,
  cardPublicKey,
  type Decoded,
  decodeSigned,
  decodeSignedHeader,
  encodeRecordUnsigned,
  encodeStatementUnsigned,
  LIMITS,
  RECORD_KIND_CODES,
  recordHash,
  type SignedHeader,
  STATEMENT_KIND_CODES,
  signingCardId,
  tagCardId,
} from './codec.ts'
export {
  type CallbackVerifier,
  countVerifications,
  generateKeyPair,
  type KeyPair,
  keyPairFromLabel,
  keyPairFromSeed,
  type Signer,
  sha256,
  type VerifyDone,
  verificationCount,
  verifySignature,
  verifySignatureCallback,
} from './crypto.ts'
export {
  LedgerDecodeError,
  LedgerInputError,
  LedgerKeyError,
  LedgerRuleError,
  LedgerSnapshotError,
  RULES,
  type Rule,
} from './errors.ts'
export {
  createFixture,
  FIXTURE_TIME,
  type Fixture,
  type FixtureDevice,
  type FixtureOptions,
  type FixtureVenue,
  seededRandom,
} from './fixtures.ts'
export {
  type CardView,
  type CloseOutView,
  type DeviceGap,
  type ForkEvidence,
  type IngestOptions,
  type IngestResult,
  type IngestStatus,
  type InvariantReport,
  LedgerIndex,
  type LedgerIndexOptions,
  type MembershipView,
  type RejectedView,
  type TicketView,
} from './ledger-index.ts'
export {
  CARD_SIG_DOMAIN,
  type CardSigner,
  cardSignatureMessage,
  chainPositions,
  DeviceChainWriter,
  deviceSignatureMessage,
  EmulatedSigningCard,
  MAX_CARD_SEQ,
  type SignedRecord,
  signingCardPositions,
  signRecord,
  signStatement,
  statementSignatureMessage,
  verifySignatures,
} from './sign.ts'
export { type SnapshotLayout, snapshotLayout } from './snapshot.ts'
export {
  checkPresentedTagState,
  decodeTagState,
  type PresentedVerdict,
  pickCurrentTagState,
  type SignedTagState,
  signTagState,
  TAG_STATE_MAX_BYTES,
  type TagCardState,
  verifyTagState,
} from './tag-state.ts'
export { assetRef, type DeviceAuthority } from './trust.ts'
export type * from './types.ts'
export { ASSET_KINDS, CARD_KINDS, PAYMENT_METHODS, REFUND_METHODS, ROLES, TOP_UP_METHODS } from './types.ts'
export { checkRecordShape, ROLES_FOR_KIND } from './validate.ts'
export {
  decodeVenueConfig,
  nextVenueConfigVersion,
  type ResolvedVenueConfig,
  resolveVenueConfig,
  signVenueConfig,
  VENUE_CONFIG_SECTIONS,
  type VenueConfigBody,
  type VenueConfigEntry,
  type VenueConfigReason,
  VenueConfigRejectedError,
  type VenueConfigSection,
  type VenueConfigTrust,
  venueConfigWins,
  verifyVenueConfig,
} from './venue-config.ts'
