// One error class per failure kind, each with a stable `name` (js-libp2p style).

/** A receipt, ticket or job that cannot be rendered or queued as given. Nothing was queued. */
export class InvalidPrintInputError extends Error {
  static override readonly name = 'InvalidPrintInputError'
  override readonly name = 'InvalidPrintInputError'
}

/** Connection refused, reset or timed out: the printer is off or unreachable. */
export class PrinterUnreachableError extends Error {
  static override readonly name = 'PrinterUnreachableError'
  override readonly name = 'PrinterUnreachableError'
}

/** A job names a printer the service has no configuration for. The job stays queued. */
export class UnknownPrinterError extends Error {
  static override readonly name = 'UnknownPrinterError'
  override readonly name = 'UnknownPrinterError'
}

/** A stored job file could not be read back (torn or foreign file). It is left in place. */
export class CorruptJobFileError extends Error {
  static override readonly name = 'CorruptJobFileError'
  override readonly name = 'CorruptJobFileError'
}

/** The service was used before start() or after stop(). */
export class PrintServiceNotStartedError extends Error {
  static override readonly name = 'PrintServiceNotStartedError'
  override readonly name = 'PrintServiceNotStartedError'
}
