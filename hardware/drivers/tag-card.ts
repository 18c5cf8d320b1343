// Tag card driver (NTAG215 behind a PC/SC reader). User memory holds two slots A and B; each slot is a
// small header {magic, generation, length, CRC-32} and an opaque payload (the ledger's signed card state).
// A write goes to the slot that is NOT current, then is read back: a card pulled mid-write leaves a slot
// with a bad CRC, and the previous state in the other slot stays current. Which payload is valid is decided
// by an injected validator (the ledger's card-state verify), so this file knows nothing of the ledger.
import { readBinaryApdu, responseData, SW_OK, statusWord, updateBinaryApdu } from '../apdu.ts'
import { EXTENDED_LIMITS, NTAG215_FIRST_USER_PAGE, type ReaderLimits } from '../cards/ntag215.ts'
import {
  CardCommandError,
  CardStateTooLargeError,
  CardWriteVerifyError,
  InvalidCardStateError,
  WrongCardKindError,
} from '../errors.ts'
import type { CardChannel } from '../transport.ts'
import { crc32 } from './crc32.ts'
import type { CardDriver, CardIdentity } from './driver.ts'

export const SLOT_PAGES = 63
export const SLOT_BYTES = SLOT_PAGES * 4
export const SLOT_HEADER_BYTES = 10
/** Largest payload a slot holds (cross-team contract: at most 240 bytes of ledger-encoded state). */
export const MAX_STATE_BYTES = 240
const SLOT_MAGIC = 0x4c
export type SlotName = 'A' | 'B'
export const SLOT_FIRST_PAGE: Record<SlotName, number> = {
  A: NTAG215_FIRST_USER_PAGE,
  B: NTAG215_FIRST_USER_PAGE + SLOT_PAGES,
}
const MEMO_SLOTS = 'lakou-tag-slots'

/** The ledger's card-state check: returns the decoded state, or throws to refuse the slot (any error). */
export interface CardStateValidator<T> {
  verify(payload: Uint8Array, card: { uid: Uint8Array }): T | Promise<T>
}

export interface TagCardState<T> {
  slot: SlotName
  generation: number
  payload: Uint8Array
  state: T
}

export interface TagReadResult<T> {
  uid: Uint8Array
  /** The valid slot with the highest generation; undefined for a blank or fully invalid card. */
  current: TagCardState<T> | undefined
  /** Slots that were checked and refused, with why (bad CRC = torn or blank; validator refusal). */
  rejected: { slot: SlotName; reason: string }[]
}

export interface TagWriteResult {
  slot: SlotName
  generation: number
  /** Pages programmed (only those that changed). */
  pagesWritten: number
}

interface SlotMemo {
  images: Record<SlotName, Uint8Array>
  current: { slot: SlotName; generation: number } | undefined
  /** Highest generation seen in any slot with a sound header (valid or not), so generations only grow. */
  maxGeneration: number
}

export interface TagCardDriverOptions<T> {
  validator: CardStateValidator<T>
  /** What one READ/UPDATE BINARY may carry on this reader (default: extended, 255 / 252 bytes). */
  limits?: ReaderLimits
}

export function encodeSlot(generation: number, payload: Uint8Array, base?: Uint8Array): Uint8Array {
  if (payload.length > MAX_STATE_BYTES) throw new CardStateTooLargeError(payload.length, MAX_STATE_BYTES)
  // Bytes after the payload keep their old content: fewer pages change, and they are ignored on read.
  const image = base ? base.slice() : new Uint8Array(SLOT_BYTES)
  const view = new DataView(image.buffer)
  image[0] = SLOT_MAGIC
  view.setUint32(1, generation >>> 0)
  image[5] = payload.length
  image.set(payload, SLOT_HEADER_BYTES)
  view.setUint32(6, crc32(image.subarray(0, 6), payload))
  return image
}

/** Header and CRC check of a slot image: the payload and generation, or why it is not usable. */
export function decodeSlot(
  image: Uint8Array,
): { generation: number; payload: Uint8Array } | { error: string } {
  if (image[0] !== SLOT_MAGIC) return { error: 'blank slot' }
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength)
  const length = image[5]!
  if (length > MAX_STATE_BYTES) return { error: 'bad length' }
  const payload = image.slice(SLOT_HEADER_BYTES, SLOT_HEADER_BYTES + length)
  if (view.getUint32(6) !== crc32(image.subarray(0, 6), payload)) return { error: 'bad CRC (torn write?)' }
  return { generation: view.getUint32(1), payload }
}

export class TagCardDriver<T> implements CardDriver {
  readonly kind = 'tag'
  readonly accepts = ['tag'] as const
  private readonly validator: CardStateValidator<T>
  private readonly limits: ReaderLimits

  constructor(options: TagCardDriverOptions<T>) {
    this.validator = options.validator
    this.limits = options.limits ?? EXTENDED_LIMITS
  }

  async identify(channel: CardChannel): Promise<CardIdentity> {
    this.check(channel)
    return { kind: 'tag', uid: channel.uid }
  }

  /** Reads both slots (two READ BINARY on an extended reader) and returns the current valid state. */
  async read(channel: CardChannel): Promise<TagReadResult<T>> {
    this.check(channel)
    const images = {
      A: await this.readBytes(channel, SLOT_FIRST_PAGE.A, SLOT_BYTES),
      B: await this.readBytes(channel, SLOT_FIRST_PAGE.B, SLOT_BYTES),
    }
    const rejected: TagReadResult<T>['rejected'] = []
    const candidates: { slot: SlotName; generation: number; payload: Uint8Array }[] = []
    for (const slot of ['A', 'B'] as const) {
      const decoded = decodeSlot(images[slot])
      if ('error' in decoded) rejected.push({ slot, reason: decoded.error })
      else candidates.push({ slot, ...decoded })
    }
    const memo: SlotMemo = {
      images,
      current: undefined,
      maxGeneration: Math.max(0, ...candidates.map((c) => c.generation)),
    }
    channel.memo.set(MEMO_SLOTS, memo)
    // Newest first; the older slot is verified only when the newer one is refused (one verify per tap).
    candidates.sort((a, b) => b.generation - a.generation)
    for (const c of candidates) {
      try {
        const state = await this.validator.verify(c.payload, { uid: channel.uid })
        memo.current = { slot: c.slot, generation: c.generation }
        return { uid: channel.uid, current: { ...c, state }, rejected }
      } catch (err) {
        // The validator's only job is yes/no: whatever it throws (InvalidCardStateError, the ledger's
        // LedgerDecodeError / LedgerRuleError) refuses this slot, and the older one gets its chance.
        const e = err instanceof Error ? err : new InvalidCardStateError(String(err))
        rejected.push({ slot: c.slot, reason: `${e.name}: ${e.message}` })
      }
    }
    return { uid: channel.uid, current: undefined, rejected }
  }

  /**
   * Writes a new state into the slot that is not current (programming only the pages that change), reads
   * it back, and from then on that slot is current. Reads first if this channel has not been read yet.
   */
  async write(channel: CardChannel, payload: Uint8Array): Promise<TagWriteResult> {
    this.check(channel)
    if (payload.length > MAX_STATE_BYTES) throw new CardStateTooLargeError(payload.length, MAX_STATE_BYTES)
    if (!channel.memo.has(MEMO_SLOTS)) await this.read(channel)
    const memo = channel.memo.get(MEMO_SLOTS) as SlotMemo
    const slot: SlotName = memo.current?.slot === 'A' ? 'B' : 'A'
    const generation = memo.maxGeneration + 1
    const old = memo.images[slot]
    const image = encodeSlot(generation, payload, old)
    const changed: number[] = []
    for (let p = 0; p < SLOT_PAGES; p++) {
      for (let i = p * 4; i < p * 4 + 4; i++) {
        if (image[i] !== old[i]) {
          changed.push(p)
          break
        }
      }
    }
    // The memo no longer describes the card until the read-back succeeds.
    channel.memo.delete(MEMO_SLOTS)
    if (changed.length > 0) {
      const first = changed[0]!
      const last = changed[changed.length - 1]!
      for (const [from, to] of this.writeRuns(changed)) {
        await this.writePages(channel, SLOT_FIRST_PAGE[slot] + from, image.subarray(from * 4, (to + 1) * 4))
      }
      const back = await this.readBytes(channel, SLOT_FIRST_PAGE[slot] + first, (last - first + 1) * 4)
      const expected = image.subarray(first * 4, (last + 1) * 4)
      for (let i = 0; i < expected.length; i++) {
        if (back[i] !== expected[i]) throw new CardWriteVerifyError(`slot ${slot} reads back differently`)
      }
    }
    memo.images[slot] = image
    memo.current = { slot, generation }
    memo.maxGeneration = generation
    channel.memo.set(MEMO_SLOTS, memo)
    return { slot, generation, pagesWritten: changed.length }
  }

  /**
   * Page runs to program: with 4-byte writes each changed page alone; with multi-page writes one span from
   * the first to the last changed page (an APDU costs far more than re-writing a few unchanged pages).
   */
  private writeRuns(changed: number[]): [number, number][] {
    const maxPages = Math.max(1, Math.floor(this.limits.maxWriteBytes / 4))
    if (maxPages === 1) return changed.map((p) => [p, p])
    const runs: [number, number][] = []
    for (let p = changed[0]!; p <= changed[changed.length - 1]!; p += maxPages) {
      runs.push([p, Math.min(p + maxPages - 1, changed[changed.length - 1]!)])
    }
    return runs
  }

  private async writePages(channel: CardChannel, page: number, data: Uint8Array): Promise<void> {
    const response = await channel.transmit(updateBinaryApdu(page, data))
    if (statusWord(response) !== SW_OK)
      throw new CardCommandError(`UPDATE BINARY page ${page}`, statusWord(response))
  }

  private async readBytes(channel: CardChannel, page: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length)
    const step = Math.floor(this.limits.maxReadBytes / 4) * 4
    for (let offset = 0; offset < length; offset += step) {
      const n = Math.min(step, length - offset)
      const response = await channel.transmit(readBinaryApdu(page + offset / 4, n))
      const sw = statusWord(response)
      if (sw !== SW_OK || response.length !== n + 2)
        throw new CardCommandError(`READ BINARY page ${page}`, sw)
      out.set(responseData(response), offset)
    }
    return out
  }

  private check(channel: CardChannel): void {
    if (channel.kind !== 'tag') throw new WrongCardKindError(`a ${channel.kind} card is not a tag card`)
  }
}
