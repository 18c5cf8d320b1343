// The Lakou signing-card applet (ISO 14443-4, SELECT by AID), as specified in the cross-team contract:
// INS 10 GET PUBLIC KEY -> key(32) || counter(4 BE); INS 20 SIGN cardSeq(4 BE) || hash(32) -> signature(64),
// refused with 69 85 unless cardSeq > counter. Ed25519 through node:crypto.
import { createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto'
import {
  ATR_ISO14443_4,
  CARD_SIG_PREFIX,
  equalBytes,
  INS_GET_PUBLIC_KEY,
  INS_SIGN,
  SIGNING_AID,
  SW_CLA_NOT_SUPPORTED,
  SW_CONDITIONS_NOT_SATISFIED,
  SW_FILE_NOT_FOUND,
  SW_INS_NOT_SUPPORTED,
  SW_NO_CURRENT_EF,
  SW_OK,
  SW_WRONG_LENGTH,
  SW_WRONG_P1P2,
  status,
  toHex,
  withStatus,
} from '../apdu.ts'
import type { VirtualCard } from './virtual-card.ts'

/** Everything the card keeps across power cycles. */
export interface SigningCardState {
  /** Ed25519 private key seed (32 bytes). */
  seed: Uint8Array
  /** Last cardSeq signed (0: never signed). */
  counter: number
  /** 7-byte UID the reader reports. */
  uid: Uint8Array
}

export interface SigningAppletOptions {
  state?: SigningCardState
  /**
   * Called with the new state whenever the counter moves, BEFORE the signature leaves the card, so a
   * persisted counter can never fall behind a signature that was handed out.
   */
  persist?: (state: SigningCardState) => void
}

const PKCS8_ED25519_PREFIX = Uint8Array.of(
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x04,
  0x22,
  0x04,
  0x20,
)

export function newSigningCardState(): SigningCardState {
  const seed = crypto.getRandomValues(new Uint8Array(32))
  const uid = crypto.getRandomValues(new Uint8Array(7))
  uid[0] = 0x04
  return { seed, counter: 0, uid }
}

/** The exact message a signing card signs (cross-team contract). */
export function cardSignatureMessage(cardSeq: number, recordHash: Uint8Array): Uint8Array {
  const msg = new Uint8Array(CARD_SIG_PREFIX.length + 4 + recordHash.length)
  msg.set(CARD_SIG_PREFIX)
  new DataView(msg.buffer).setUint32(CARD_SIG_PREFIX.length, cardSeq)
  msg.set(recordHash, CARD_SIG_PREFIX.length + 4)
  return msg
}

export class VirtualSigningCard implements VirtualCard {
  readonly atr = ATR_ISO14443_4
  readonly publicKey: Uint8Array
  private readonly privateKey: KeyObject
  private readonly persist: ((state: SigningCardState) => void) | undefined
  private state: SigningCardState
  private selected = false

  constructor(options: SigningAppletOptions = {}) {
    const s = options.state ?? newSigningCardState()
    if (s.seed.length !== 32 || s.uid.length !== 7) throw new RangeError('seed is 32 bytes, uid 7 bytes')
    if (!Number.isInteger(s.counter) || s.counter < 0 || s.counter > 0xffffffff)
      throw new RangeError('bad counter')
    this.state = { seed: s.seed.slice(), counter: s.counter, uid: s.uid.slice() }
    this.persist = options.persist
    const der = new Uint8Array(PKCS8_ED25519_PREFIX.length + 32)
    der.set(PKCS8_ED25519_PREFIX)
    der.set(this.state.seed, PKCS8_ED25519_PREFIX.length)
    this.privateKey = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' })
    const spki = createPublicKey(this.privateKey).export({ format: 'der', type: 'spki' })
    this.publicKey = new Uint8Array(spki.subarray(spki.length - 32))
  }

  get label(): string {
    return `signing ${toHex(this.state.uid)}`
  }

  get uid(): Uint8Array {
    return this.state.uid.slice()
  }

  get counter(): number {
    return this.state.counter
  }

  /** A copy of the persistent state. */
  snapshot(): SigningCardState {
    return { seed: this.state.seed.slice(), counter: this.state.counter, uid: this.state.uid.slice() }
  }

  reset(): void {
    this.selected = false
  }

  transmit(apdu: Uint8Array): Uint8Array {
    if (apdu.length < 4) return status(SW_WRONG_LENGTH)
    const [cla, ins, p1, p2] = apdu as unknown as [number, number, number, number]
    // The reader answers GET UID itself for any card in its field.
    if (cla === 0xff && ins === 0xca)
      return p1 === 0 && p2 === 0 ? withStatus(this.state.uid, SW_OK) : status(SW_WRONG_P1P2)
    if (cla === 0x00 && ins === 0xa4) return this.select(apdu)
    if (cla !== 0x80 && cla !== 0x00) return status(SW_CLA_NOT_SUPPORTED)
    if (ins !== INS_GET_PUBLIC_KEY && ins !== INS_SIGN) return status(SW_INS_NOT_SUPPORTED)
    if (!this.selected) return status(SW_NO_CURRENT_EF)
    if (ins === INS_GET_PUBLIC_KEY) {
      const out = new Uint8Array(36)
      out.set(this.publicKey)
      new DataView(out.buffer).setUint32(32, this.state.counter)
      return withStatus(out, SW_OK)
    }
    return this.sign(apdu)
  }

  private select(apdu: Uint8Array): Uint8Array {
    if (apdu[2] !== 0x04 || apdu[3] !== 0x00) return status(SW_WRONG_P1P2)
    const lc = apdu[4] ?? 0
    const aid = apdu.subarray(5, 5 + lc)
    this.selected = aid.length === lc && equalBytes(aid, SIGNING_AID)
    return status(this.selected ? SW_OK : SW_FILE_NOT_FOUND)
  }

  private sign(apdu: Uint8Array): Uint8Array {
    const lc = apdu[4]
    // Case 3 (no Le) or case 4 (trailing Le) short APDU with 36 data bytes.
    if (lc !== 36 || (apdu.length !== 41 && apdu.length !== 42)) return status(SW_WRONG_LENGTH)
    const data = apdu.subarray(5, 41)
    const cardSeq = new DataView(data.buffer, data.byteOffset).getUint32(0)
    if (cardSeq <= this.state.counter) return status(SW_CONDITIONS_NOT_SATISFIED)
    const next = { ...this.state, counter: cardSeq }
    this.persist?.({ seed: next.seed.slice(), counter: next.counter, uid: next.uid.slice() })
    this.state = next
    const signature = sign(null, cardSignatureMessage(cardSeq, data.subarray(4)), this.privateKey)
    return withStatus(new Uint8Array(signature), SW_OK)
  }
}
