// ESC/POS real-time status (DLE EOT n): request bytes and reply parsing.
// Each reply byte has bits 0 and 7 clear and bits 1 and 4 set; anything else is not a status reply.

export type PrinterState = 'online' | 'unknown' | 'unreachable' | 'out-of-paper' | 'cover-open' | 'error'

export interface PrinterStatus {
  /**
   * online: answered status and ready. unknown: reachable, no status answer (may still print).
   * unreachable: refused / timed out. out-of-paper, cover-open, error: answered status, not ready.
   */
  readonly state: PrinterState
  readonly paperNearEnd?: boolean
  readonly detail?: string
  /** When it was observed (ms since the epoch). */
  readonly at: number
}

/** Printer status (n=1), offline cause (n=2), roll paper sensor (n=4), in this order. */
export const statusRequest = Uint8Array.of(0x10, 0x04, 1, 0x10, 0x04, 2, 0x10, 0x04, 4)
export const statusReplyLength = 3

export const isStatusByte = (byte: number) => (byte & 0x93) === 0x12

export function parseStatusReply(reply: Uint8Array, at: number): PrinterStatus {
  const [printer, offline, paper] = reply
  if (
    printer === undefined ||
    offline === undefined ||
    paper === undefined ||
    ![...reply].every(isStatusByte)
  ) {
    return { state: 'unknown', detail: 'no valid DLE EOT reply', at }
  }
  const paperNearEnd = (paper & 0x0c) === 0x0c
  if ((paper & 0x60) === 0x60 || offline & 0x20) return { state: 'out-of-paper', paperNearEnd, at }
  if (offline & 0x04) return { state: 'cover-open', paperNearEnd, at }
  if (offline & 0x40) return { state: 'error', detail: 'printer reports an error', paperNearEnd, at }
  if (printer & 0x08) return { state: 'error', detail: 'printer is offline', paperNearEnd, at }
  return { state: 'online', paperNearEnd, at }
}

/** States in which sending a job is pointless: it would not print. */
export const notReadyStates: ReadonlySet<PrinterState> = new Set(['out-of-paper', 'cover-open', 'error'])
