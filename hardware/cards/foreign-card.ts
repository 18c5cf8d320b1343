// A foreign ISO 14443-4 card (say, a bank card): answers the reader's GET UID, knows no Lakou applet.
// Used to show that readers and drivers classify and refuse cards that are not ours.
import {
  ATR_ISO14443_4,
  SW_FILE_NOT_FOUND,
  SW_INS_NOT_SUPPORTED,
  SW_OK,
  status,
  withStatus,
} from '../apdu.ts'
import type { VirtualCard } from './virtual-card.ts'

export class VirtualForeignCard implements VirtualCard {
  readonly atr = ATR_ISO14443_4
  readonly label = 'foreign ISO 14443-4 card'
  readonly uid = Uint8Array.of(0x08, 0x12, 0x34, 0x56)

  transmit(apdu: Uint8Array): Uint8Array {
    if (apdu[0] === 0xff && apdu[1] === 0xca) return withStatus(this.uid, SW_OK)
    if (apdu[1] === 0xa4) return status(SW_FILE_NOT_FOUND)
    return status(SW_INS_NOT_SUPPORTED)
  }

  reset(): void {}
}
