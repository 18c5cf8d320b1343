// The boundary between readers (real PC/SC or simulated) and card drivers: a presented card is a channel
// that carries APDUs, and a reader service emits the same typed events whatever is underneath.
import type { EventEmitter } from 'node:events'

/**
 * tag: an ISO 14443-3 storage card (NTAG) behind the reader; signing: an ISO 14443-4 card whose Lakou
 * applet answered SELECT (signing cards and staff cards); unknown: any other ISO 14443-4 card.
 */
export type CardKind = 'tag' | 'signing' | 'unknown'

export interface CardChannel {
  readonly reader: string
  readonly uid: Uint8Array
  readonly kind: CardKind
  readonly atr: Uint8Array
  /** False once the card left the field; every later transmit throws CardRemovedError. */
  readonly present: boolean
  /** Command APDUs sent on this channel, including the service's own identification APDUs. */
  readonly apduCount: number
  /** Sends one command APDU; throws CardRemovedError when the card is gone. Calls are serialised. */
  transmit(apdu: Uint8Array): Promise<Uint8Array>
  /** Drivers remember per-card facts here (e.g. the selected applet, the last slot images read). */
  readonly memo: Map<string, unknown>
}

export interface CardPresentedEvent {
  reader: string
  uid: Uint8Array
  kind: CardKind
  channel: CardChannel
}

export interface ReaderServiceEvents {
  'reader-attached': [{ reader: string }]
  'reader-detached': [{ reader: string }]
  'card-presented': [CardPresentedEvent]
  'card-removed': [{ reader: string; uid: Uint8Array }]
  /** Typed errors (see errors.ts); the service keeps running after each. */
  error: [Error]
}

/** What the node and the app see of any reader service (pcscd-backed or simulated). */
export interface CardReaderService extends EventEmitter<ReaderServiceEvents> {
  start(): Promise<void>
  stop(): Promise<void>
  /** Names of the readers attached now. */
  readers(): string[]
  /** The card currently in a reader's field, if any. */
  cardIn(reader: string): CardChannel | undefined
}
