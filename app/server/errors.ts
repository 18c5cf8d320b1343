// One error class per failure kind, each with a stable `name` the browser can switch on (js-libp2p style).
// The WebSocket API sends { name, message, details } for any of these; anything else is 'InternalError'.

export class AppError extends Error {
  override name = 'AppError'
  constructor(
    message: string,
    readonly details?: unknown,
  ) {
    super(message)
  }
}

/** The request is malformed: wrong JSON, unknown field type, out-of-range amount. Nothing was written. */
export class InvalidRequestError extends AppError {
  override name = 'InvalidRequestError'
}

export class UnknownMethodError extends AppError {
  override name = 'UnknownMethodError'
}

export class NotFoundError extends AppError {
  override name = 'NotFoundError'
}

/** A till operation was asked without an open cashier session. */
export class NoSessionError extends AppError {
  override name = 'NoSessionError'
}

/** The card is not a certified staff card of this venue. */
export class NotStaffError extends AppError {
  override name = 'NotStaffError'
}

/** Card payments need the card on the reader (the card signs or its tag state is rewritten). */
export class CardNotPresentError extends AppError {
  override name = 'CardNotPresentError'
}

export class CardFrozenError extends AppError {
  override name = 'CardFrozenError'
}

export class InsufficientBalanceError extends AppError {
  override name = 'InsufficientBalanceError'
}

/** Payments do not add up to the sale total. */
export class PaymentMismatchError extends AppError {
  override name = 'PaymentMismatchError'
}

export class NothingToVoidError extends AppError {
  override name = 'NothingToVoidError'
}

export class RefundNotAllowedError extends AppError {
  override name = 'RefundNotAllowedError'
}

export class CapacityReachedError extends AppError {
  override name = 'CapacityReachedError'
}

export class LedgerRejectedError extends AppError {
  override name = 'LedgerRejectedError'
}

/** The browser is not paired with this node: it must present a pairing code first. */
export class NotPairedError extends AppError {
  override name = 'NotPairedError'
}

/** The browser's role (till, door, admin, portal) does not allow this request. */
export class RoleNotAllowedError extends AppError {
  override name = 'RoleNotAllowedError'
}

/** The pairing code is unknown, expired or already used. */
export class InvalidPairingCodeError extends AppError {
  override name = 'InvalidPairingCodeError'
}

/** Too many wrong pairing codes in a short time: pairing is paused for a minute. */
export class PairingRateLimitedError extends AppError {
  override name = 'PairingRateLimitedError'
}

/** A staff card session proof is missing or does not match (only the opening card closes a session). */
export class StaffSessionError extends AppError {
  override name = 'StaffSessionError'
}
