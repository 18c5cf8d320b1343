// A card channel over any raw APDU exchange, shared by the PC/SC and the simulated reader services:
// serialises commands, counts them, and turns a lost card into CardRemovedError. Also the card
// identification both services run on presentation (GET UID, and SELECT of the Lakou applet).

import { getUidApdu, responseData, SIGNING_AID, SW_OK, selectAidApdu, statusWord } from './apdu.ts'
import { CardCommandError, CardRemovedError } from './errors.ts'
import type { CardChannel, CardKind } from './transport.ts'

export type RawTransmit = (apdu: Uint8Array) => Promise<Uint8Array>

/** memo key set when the Lakou applet is selected on this channel. */
export const MEMO_APPLET_SELECTED = 'lakou-applet-selected'

export class Channel implements CardChannel {
  uid: Uint8Array = new Uint8Array(0)
  kind: CardKind = 'unknown'
  apduCount = 0
  readonly memo = new Map<string, unknown>()
  private gone = false
  private queue: Promise<unknown> = Promise.resolve()

  constructor(
    readonly reader: string,
    readonly atr: Uint8Array,
    private readonly raw: RawTransmit,
  ) {}

  get present(): boolean {
    return !this.gone
  }

  /** Called by the service when the reader reports the card gone. */
  markRemoved(): void {
    this.gone = true
  }

  transmit(apdu: Uint8Array): Promise<Uint8Array> {
    const run = async () => {
      if (this.gone) throw new CardRemovedError()
      this.apduCount++
      let response: Uint8Array
      try {
        response = await this.raw(apdu)
      } catch (err) {
        // Whatever the PC/SC layer says (removed, reset, not transacted), the card can no longer be used
        // in this presentation; the caller retries on the next tap.
        this.gone = true
        throw new CardRemovedError('lost the card during a command', { cause: err })
      }
      // Every card answer ends with SW1 SW2; vpcd (and real readers) hand back nothing when the card left
      // the field before answering.
      if (response.length < 2) {
        this.gone = true
        throw new CardRemovedError('the card did not answer (left the field)')
      }
      return response
    }
    const result = this.queue.then(run, run)
    this.queue = result.catch(() => {})
    return result
  }
}

/** ISO 14443-3 storage cards behind an ACR122U have ATR byte 5 = 4F (PC/SC part 3 RID tag). */
export const isStorageCardAtr = (atr: Uint8Array): boolean => atr[5] === 0x4f

/** Fills in uid and kind: GET UID, and for ISO 14443-4 cards a SELECT of the Lakou applet. */
export async function identify(channel: Channel): Promise<void> {
  const uidResponse = await channel.transmit(getUidApdu())
  if (statusWord(uidResponse) !== SW_OK) throw new CardCommandError('GET UID', statusWord(uidResponse))
  channel.uid = responseData(uidResponse).slice()
  if (isStorageCardAtr(channel.atr)) {
    channel.kind = 'tag'
    return
  }
  const select = await channel.transmit(selectAidApdu(SIGNING_AID))
  const selected = statusWord(select) === SW_OK
  channel.kind = selected ? 'signing' : 'unknown'
  if (selected) channel.memo.set(MEMO_APPLET_SELECTED, true)
}
