// What a virtual card is to its transports (the vpcd client and the in-process simulated reader):
// pure logic, one command APDU in, one response APDU out.

export interface VirtualCard {
  /** A short label for logs and tests, e.g. "tag 04a1b2c3d4e5f6". */
  readonly label: string
  /** The ATR the reader reports for this card. */
  readonly atr: Uint8Array
  /** Handles one command APDU (including the reader's pseudo-APDUs such as GET UID). */
  transmit(apdu: Uint8Array): Uint8Array
  /** Power off / reset: drops volatile state such as the selected applet. */
  reset(): void
}

/**
 * Thrown by a virtual card when a test's tear hook fires in the middle of a command: the transport must
 * behave as if the card left the field (vpcd: close the connection without answering).
 */
export class CardTornError extends Error {
  override readonly name = 'CardTornError'
}
