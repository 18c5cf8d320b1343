// One error class per failure kind, each with a stable `name` (js-libp2p style), so callers can switch on
// `err.name` across module copies and process boundaries.

/** The card left the field (or its connection dropped) while a command was in flight. */
export class CardRemovedError extends Error {
  override readonly name = 'CardRemovedError'
  constructor(message = 'the card was removed during the operation', options?: ErrorOptions) {
    super(message, options)
  }
}

/** The card answered a command with an unexpected status word. */
export class CardCommandError extends Error {
  override readonly name = 'CardCommandError'
  constructor(
    readonly command: string,
    readonly statusWord: number,
  ) {
    super(`${command} failed with status ${statusWord.toString(16).padStart(4, '0')}`)
  }
}

/** A driver was asked to handle a card of another kind (e.g. a tag card given to the signing driver). */
export class WrongCardKindError extends Error {
  override readonly name = 'WrongCardKindError'
}

/** The signing card refused to sign because the sequence is not above its counter (status 69 85). */
export class CardSequenceRefusedError extends Error {
  override readonly name = 'CardSequenceRefusedError'
  constructor(readonly cardSeq: number) {
    super(`the signing card refused cardSeq ${cardSeq}: not above its counter`)
  }
}

/** A tag card state does not fit in a slot. */
export class CardStateTooLargeError extends Error {
  override readonly name = 'CardStateTooLargeError'
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`card state of ${size} bytes exceeds the slot limit of ${limit} bytes`)
  }
}

/** What was read back after a tag write differs from what was written. */
export class CardWriteVerifyError extends Error {
  override readonly name = 'CardWriteVerifyError'
}

/** Thrown by an injected validator when a decoded slot payload is not a valid card state. */
export class InvalidCardStateError extends Error {
  override readonly name = 'InvalidCardStateError'
}

/** A signing card presented as a staff card is not certified as staff, or closes another staff's session. */
export class NotStaffCardError extends Error {
  override readonly name = 'NotStaffCardError'
}

/** pcscd is not installed, not running, or could not be started. */
export class PcscdUnavailableError extends Error {
  override readonly name = 'PcscdUnavailableError'
}

/** nfc-pcsc (its native addon) cannot be loaded on this machine. */
export class NfcLibraryUnavailableError extends Error {
  override readonly name = 'NfcLibraryUnavailableError'
}

/** An error reported by a reader or by the PC/SC layer, wrapped so listeners get one typed shape. */
export class ReaderError extends Error {
  override readonly name = 'ReaderError'
  constructor(
    readonly reader: string | undefined,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}
