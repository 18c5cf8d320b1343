// The NFC hardware's public surface (printers live in hardware/printers/). Other parts import from here.
export {
  ATR_ACR122U_NTAG,
  ATR_ISO14443_4,
  CARD_SIG_PREFIX,
  SIGNING_AID,
} from './apdu.ts'
export { VirtualForeignCard } from './cards/foreign-card.ts'
export {
  ACR122U_LIMITS,
  EXTENDED_LIMITS,
  NTAG215_USER_BYTES,
  type ReaderLimits,
  VirtualNtag215,
} from './cards/ntag215.ts'
export {
  cardSignatureMessage,
  newSigningCardState,
  type SigningCardState,
  VirtualSigningCard,
} from './cards/signing-applet.ts'
export { CardTornError, type VirtualCard } from './cards/virtual-card.ts'
export type { CardDriver, CardIdentity, DriverKind } from './drivers/driver.ts'
export { SigningCardDriver, type SigningCardKey } from './drivers/signing-card.ts'
export {
  StaffCardDriver,
  type StaffCardRef,
  type StaffDirectory,
  type StaffMember,
  sessionMessageHash,
  type TillSession,
  type TillSessionProof,
} from './drivers/staff-card.ts'
export {
  type CardStateValidator,
  MAX_STATE_BYTES,
  type SlotName,
  TagCardDriver,
  type TagCardState,
  type TagReadResult,
  type TagWriteResult,
} from './drivers/tag-card.ts'
export {
  CardCommandError,
  CardRemovedError,
  CardSequenceRefusedError,
  CardStateTooLargeError,
  CardWriteVerifyError,
  InvalidCardStateError,
  NfcLibraryUnavailableError,
  NotStaffCardError,
  PcscdUnavailableError,
  ReaderError,
  WrongCardKindError,
} from './errors.ts'
export { loadNfcPcsc, NfcReaderService, type NfcReaderServiceOptions } from './nfc/reader-service.ts'
export { isPcscdReady, type PcscdHandle, startPcscd } from './pcscd/pcscd.ts'
export { type CreatedReaderService, createReaderService, type ReaderMode } from './reader.ts'
export { SimulatedReader, type SimulatedReaderOptions } from './sim/simulated-reader.ts'
export type {
  CardChannel,
  CardKind,
  CardPresentedEvent,
  CardReaderService,
  ReaderServiceEvents,
} from './transport.ts'
export { VPCD_PORTS, VpcdCardConnection } from './vpcd/vpcd-card.ts'
