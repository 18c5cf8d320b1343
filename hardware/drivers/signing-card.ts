// Signing card driver: the Lakou applet selected by AID; GET PUBLIC KEY and SIGN per the cross-team
// contract. The card refuses a cardSeq not above its counter, so a signing card cannot fork.
import {
  CLA_PROPRIETARY,
  INS_GET_PUBLIC_KEY,
  INS_SIGN,
  responseData,
  SIGNING_AID,
  SW_CONDITIONS_NOT_SATISFIED,
  SW_OK,
  selectAidApdu,
  statusWord,
} from '../apdu.ts'
import { MEMO_APPLET_SELECTED } from '../channel.ts'
import { CardCommandError, CardSequenceRefusedError, WrongCardKindError } from '../errors.ts'
import type { CardChannel } from '../transport.ts'
import type { CardDriver, CardIdentity } from './driver.ts'

export interface SigningCardKey {
  publicKey: Uint8Array
  /** The last cardSeq the card signed: the next signature needs a cardSeq above it. */
  counter: number
}

export class SigningCardDriver implements CardDriver {
  readonly kind = 'signing'
  readonly accepts = ['signing'] as const

  async identify(channel: CardChannel): Promise<CardIdentity> {
    const { publicKey } = await this.getPublicKey(channel)
    return { kind: 'signing', uid: channel.uid, publicKey }
  }

  async getPublicKey(channel: CardChannel): Promise<SigningCardKey> {
    await this.select(channel)
    const r = await channel.transmit(Uint8Array.of(CLA_PROPRIETARY, INS_GET_PUBLIC_KEY, 0, 0, 36))
    const data = responseData(r)
    if (statusWord(r) !== SW_OK || data.length !== 36)
      throw new CardCommandError('GET PUBLIC KEY', statusWord(r))
    return { publicKey: data.slice(0, 32), counter: new DataView(data.buffer, data.byteOffset).getUint32(32) }
  }

  /** The card's Ed25519 signature of "lakou/card-sig/v1" || cardSeq (4 BE) || recordHash. */
  async sign(channel: CardChannel, cardSeq: number, recordHash: Uint8Array): Promise<Uint8Array> {
    if (!Number.isInteger(cardSeq) || cardSeq < 1 || cardSeq > 0xffffffff)
      throw new RangeError('cardSeq is a u32 > 0')
    if (recordHash.length !== 32) throw new RangeError('recordHash is a 32-byte SHA-256')
    await this.select(channel)
    const apdu = new Uint8Array(5 + 36 + 1)
    apdu.set([CLA_PROPRIETARY, INS_SIGN, 0, 0, 36])
    new DataView(apdu.buffer).setUint32(5, cardSeq)
    apdu.set(recordHash, 9)
    apdu[41] = 64
    const r = await channel.transmit(apdu)
    const sw = statusWord(r)
    if (sw === SW_CONDITIONS_NOT_SATISFIED) throw new CardSequenceRefusedError(cardSeq)
    if (sw !== SW_OK || r.length !== 66) throw new CardCommandError('SIGN', sw)
    return responseData(r).slice()
  }

  /** SELECT by AID once per presentation (the reader service already did it when it identified the card). */
  private async select(channel: CardChannel): Promise<void> {
    if (channel.kind !== 'signing')
      throw new WrongCardKindError(`a ${channel.kind} card is not a signing card`)
    if (channel.memo.get(MEMO_APPLET_SELECTED)) return
    const r = await channel.transmit(selectAidApdu(SIGNING_AID))
    if (statusWord(r) !== SW_OK) throw new WrongCardKindError('the card has no Lakou signing applet')
    channel.memo.set(MEMO_APPLET_SELECTED, true)
  }
}
