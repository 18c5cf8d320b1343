// An NTAG215 as seen through an ACR122U-style PC/SC reader: 135 pages of 4 bytes, a 7-byte read-only UID,
// static and dynamic lock bits, and the reader's pseudo-APDUs GET UID, READ BINARY and UPDATE BINARY.
import {
  ATR_ACR122U_NTAG,
  SW_FAILED,
  SW_INS_NOT_SUPPORTED,
  SW_OK,
  SW_WRONG_LENGTH,
  SW_WRONG_P1P2,
  status,
  toHex,
  withStatus,
} from '../apdu.ts'
import { CardTornError, type VirtualCard } from './virtual-card.ts'

export const NTAG215_PAGES = 135
export const NTAG215_FIRST_USER_PAGE = 4
export const NTAG215_LAST_USER_PAGE = 129
export const NTAG215_USER_BYTES = (NTAG215_LAST_USER_PAGE - NTAG215_FIRST_USER_PAGE + 1) * 4
const DYNAMIC_LOCK_PAGE = 130
const PWD_PAGE = 133

/**
 * How many bytes one READ BINARY / UPDATE BINARY may move. An ACR122U moves 16 / 4 bytes on an NTAG;
 * readers that map READ BINARY to FAST_READ and loop UPDATE BINARY over pages (PC/SC part 3) move more.
 */
export interface ReaderLimits {
  maxReadBytes: number
  maxWriteBytes: number
}
export const ACR122U_LIMITS: ReaderLimits = { maxReadBytes: 16, maxWriteBytes: 4 }
export const EXTENDED_LIMITS: ReaderLimits = { maxReadBytes: 255, maxWriteBytes: 252 }

export interface Ntag215Options {
  uid?: Uint8Array
  /** A previous memory image (135 * 4 bytes), e.g. to re-present a card with its content. */
  image?: Uint8Array
  limits?: ReaderLimits
}

export class VirtualNtag215 implements VirtualCard {
  readonly atr = ATR_ACR122U_NTAG
  readonly uid: Uint8Array
  limits: ReaderLimits
  /**
   * Test hook: number of page writes still allowed before the card "leaves the field" in the middle of a
   * command (undefined: never). Models a member pulling the card mid-payment.
   */
  tearAfterPageWrites: number | undefined
  /** Count of page programming operations (for tests and the bench). */
  pageWrites = 0
  private readonly memory: Uint8Array

  constructor(options: Ntag215Options = {}) {
    this.limits = options.limits ?? EXTENDED_LIMITS
    if (options.image) {
      if (options.image.length !== NTAG215_PAGES * 4) throw new RangeError('an NTAG215 image is 540 bytes')
      this.memory = options.image.slice()
      this.uid = Uint8Array.of(...this.memory.subarray(0, 3), ...this.memory.subarray(4, 8))
      return
    }
    const uid = options.uid ?? randomUid()
    if (uid.length !== 7 || uid[0] !== 0x04)
      throw new RangeError('an NTAG UID is 7 bytes starting with 04 (NXP)')
    this.uid = uid.slice()
    this.memory = new Uint8Array(NTAG215_PAGES * 4)
    const m = this.memory
    m.set(uid.subarray(0, 3), 0)
    m[3] = 0x88 ^ uid[0]! ^ uid[1]! ^ uid[2]!
    m.set(uid.subarray(3, 7), 4)
    m[8] = uid[3]! ^ uid[4]! ^ uid[5]! ^ uid[6]!
    m[9] = 0x48 // internal
    m.set([0xe1, 0x10, 0x3e, 0x00], 12) // capability container: NDEF, 496 bytes
    m.set([0x00, 0x00, 0x00, 0xbd], DYNAMIC_LOCK_PAGE * 4)
    m.set([0x04, 0x00, 0x00, 0xff], 131 * 4) // CFG0: AUTH0 = FF, no password protection
  }

  get label(): string {
    return `tag ${toHex(this.uid)}`
  }

  /** A copy of the whole memory (for persistence and tests). */
  image(): Uint8Array {
    return this.memory.slice()
  }

  /** Direct read of user memory without APDUs (tests only). */
  peek(page: number, length: number): Uint8Array {
    return this.memory.slice(page * 4, page * 4 + length)
  }

  reset(): void {}

  transmit(apdu: Uint8Array): Uint8Array {
    if (apdu.length < 5 || apdu[0] !== 0xff) return status(SW_INS_NOT_SUPPORTED)
    const ins = apdu[1]
    if (ins === 0xca) return this.getUid(apdu)
    if (ins === 0xb0) return this.readBinary(apdu)
    if (ins === 0xd6) return this.updateBinary(apdu)
    return status(SW_INS_NOT_SUPPORTED)
  }

  private getUid(apdu: Uint8Array): Uint8Array {
    if (apdu[2] !== 0x00 || apdu[3] !== 0x00) return status(SW_WRONG_P1P2)
    const le = apdu[4]!
    if (le !== 0 && le < this.uid.length) return status(0x6c00 | this.uid.length)
    return withStatus(this.uid, SW_OK)
  }

  private readBinary(apdu: Uint8Array): Uint8Array {
    const page = (apdu[2]! << 8) | apdu[3]!
    const length = apdu[4]!
    if (length === 0 || length > this.limits.maxReadBytes) return status(SW_WRONG_LENGTH)
    if (page >= NTAG215_PAGES || page * 4 + length > NTAG215_PAGES * 4) return status(SW_FAILED)
    const out = this.memory.slice(page * 4, page * 4 + length)
    // The password and PACK pages always read as zeros.
    for (let i = 0; i < length; i++) if (page * 4 + i >= PWD_PAGE * 4) out[i] = 0
    return withStatus(out, SW_OK)
  }

  private updateBinary(apdu: Uint8Array): Uint8Array {
    const page = (apdu[2]! << 8) | apdu[3]!
    const lc = apdu[4]!
    if (apdu.length !== 5 + lc || lc === 0 || lc % 4 !== 0 || lc > this.limits.maxWriteBytes) {
      return status(SW_WRONG_LENGTH)
    }
    // The reader programs one page at a time: a failure or a tear leaves the earlier pages written.
    for (let i = 0; i < lc / 4; i++) {
      if (!this.writePage(page + i, apdu.subarray(5 + i * 4, 9 + i * 4))) return status(SW_FAILED)
    }
    return status(SW_OK)
  }

  private writePage(page: number, data: Uint8Array): boolean {
    if (page < 2 || page >= NTAG215_PAGES || this.isLocked(page)) return false
    if (this.tearAfterPageWrites !== undefined) {
      if (this.tearAfterPageWrites <= 0) throw new CardTornError(`torn before writing page ${page}`)
      this.tearAfterPageWrites--
    }
    const at = page * 4
    if (page === 2) {
      // Only the two static lock bytes are writable, and lock bits only ever get set (OR).
      this.memory[at + 2]! |= data[2]!
      this.memory[at + 3]! |= data[3]!
    } else if (page === 3 || page === DYNAMIC_LOCK_PAGE) {
      // Capability container and dynamic lock bits are one-time programmable.
      for (let i = 0; i < 4; i++) this.memory[at + i]! |= data[i]!
    } else {
      this.memory.set(data, at)
    }
    this.pageWrites++
    return true
  }

  private isLocked(page: number): boolean {
    const lock0 = this.memory[10]!
    const lock1 = this.memory[11]!
    if (page === 3) return (lock0 & 0x08) !== 0
    if (page >= 4 && page <= 7) return (lock0 & (1 << page)) !== 0
    if (page >= 8 && page <= 15) return (lock1 & (1 << (page - 8))) !== 0
    if (page >= 16 && page <= NTAG215_LAST_USER_PAGE) {
      // NTAG215 dynamic lock: each bit of the first two bytes locks a block of 16 pages from page 16.
      const block = Math.floor((page - 16) / 16)
      const dyn = this.memory[DYNAMIC_LOCK_PAGE * 4]! | (this.memory[DYNAMIC_LOCK_PAGE * 4 + 1]! << 8)
      return (dyn & (1 << block)) !== 0
    }
    return false
  }
}

function randomUid(): Uint8Array {
  const uid = new Uint8Array(7)
  crypto.getRandomValues(uid)
  uid[0] = 0x04
  return uid
}
