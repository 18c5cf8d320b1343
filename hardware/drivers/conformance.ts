// THE shared conformance suite of the card drivers (tag, signing, staff). Every transport runs it
// unchanged: the in-process simulated reader and the real pcscd + vpcd stack.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { equalBytes } from '../apdu.ts'
import { VirtualForeignCard } from '../cards/foreign-card.ts'
import { EXTENDED_LIMITS, type ReaderLimits, VirtualNtag215 } from '../cards/ntag215.ts'
import { cardSignatureMessage, VirtualSigningCard } from '../cards/signing-applet.ts'
import {
  CardRemovedError,
  CardSequenceRefusedError,
  CardStateTooLargeError,
  InvalidCardStateError,
  NotStaffCardError,
  WrongCardKindError,
} from '../errors.ts'
import type { CardRig } from '../testing/rigs.ts'
import type { CardDriver } from './driver.ts'
import { SigningCardDriver } from './signing-card.ts'
import { StaffCardDriver, type StaffDirectory, type StaffMember, sessionMessageHash } from './staff-card.ts'
import { type CardStateValidator, MAX_STATE_BYTES, SLOT_PAGES, TagCardDriver } from './tag-card.ts'

/** Test validator standing in for the ledger's: a state is valid when its first byte is 0x01. */
export const testValidator: CardStateValidator<Uint8Array> = {
  verify(payload) {
    if (payload[0] !== 0x01) throw new InvalidCardStateError('not signed (test validator)')
    return payload
  },
}

/** A deterministic 200-byte state (the ledger's size budget for 4 assets), varying with seq. */
export function testState(seq: number, length = 200): Uint8Array {
  const s = new Uint8Array(length)
  s[0] = 0x01
  new DataView(s.buffer).setUint32(1, seq)
  // Like a signed state: the tail (signature, head hash) changes completely at every payment.
  for (let i = 100; i < length; i++) s[i] = (seq * 31 + i * 7) & 0xff
  return s
}

async function verifyCardSignature(
  publicKey: Uint8Array,
  cardSeq: number,
  hash: Uint8Array,
  sig: Uint8Array,
) {
  const raw = new Uint8Array(publicKey)
  const key = await crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify'])
  return crypto.subtle.verify(
    'Ed25519',
    key,
    new Uint8Array(sig),
    new Uint8Array(cardSignatureMessage(cardSeq, hash)),
  )
}

const hashOf = (n: number) => new Uint8Array(32).fill(n)

export interface ConformanceOptions {
  /** Reader command limits of the tag cards and the tag driver (default: extended). */
  limits?: ReaderLimits
}

export function runCardDriverConformance(makeRig: () => CardRig, options: ConformanceOptions = {}): void {
  const rig = makeRig()
  const limits = options.limits ?? EXTENDED_LIMITS
  const strict = limits.maxWriteBytes < 8
  const newTag = () => new VirtualNtag215({ limits })
  const staffCard = new VirtualSigningCard()
  const staffTag = newTag()
  const staffMember: StaffMember = { name: 'Ana', roles: ['cashier'] }
  const barStaff: StaffMember = { name: 'Bo', roles: ['cashier'] }
  // Stands in for the venue's staff-card certificates (the ledger's staff-card statements).
  const directory: StaffDirectory = {
    lookup: (ref) => {
      if (ref.publicKey && equalBytes(ref.publicKey, staffCard.publicKey)) return staffMember
      if (ref.kind === 'tag' && equalBytes(ref.uid, staffTag.uid)) return barStaff
      return undefined
    },
  }
  const tag = new TagCardDriver({ validator: testValidator, limits })
  const signing = new SigningCardDriver()
  const staff = new StaffCardDriver(directory)
  type Card = VirtualNtag215 | VirtualSigningCard | VirtualForeignCard
  const drivers: { driver: CardDriver; own: () => Card; other: () => Card }[] = [
    { driver: tag, own: () => newTag(), other: () => new VirtualSigningCard() },
    { driver: tag, own: () => newTag(), other: () => new VirtualForeignCard() },
    { driver: signing, own: () => new VirtualSigningCard(), other: () => newTag() },
    { driver: signing, own: () => new VirtualSigningCard(), other: () => new VirtualForeignCard() },
    { driver: staff, own: () => staffCard, other: () => new VirtualForeignCard() },
    { driver: staff, own: () => staffTag, other: () => new VirtualForeignCard() },
  ]

  describe(`card drivers over ${rig.name}${strict ? ' (strict ACR122U commands)' : ''}`, () => {
    beforeAll(() => rig.start())
    afterAll(() => rig.stop())

    for (const { driver, own, other } of drivers) {
      describe(`${driver.kind} driver (common) with a ${own().constructor.name} and a ${other().constructor.name}`, () => {
        it('identifies its own kind of card by UID', async () => {
          const card = own()
          const channel = await rig.present(card)
          const id = await driver.identify(channel)
          expect(id.kind).toBe(driver.kind)
          expect(Buffer.from(id.uid).equals(Buffer.from(card.uid))).toBe(true)
          if (card instanceof VirtualSigningCard)
            expect(Buffer.from(id.publicKey!).equals(card.publicKey)).toBe(true)
        })
        it('refuses a card of another kind with WrongCardKindError', async () => {
          const channel = await rig.present(other())
          await expect(driver.identify(channel)).rejects.toBeInstanceOf(WrongCardKindError)
        })
        it('reports a card pulled during a command as CardRemovedError', async () => {
          const channel = await rig.present(own())
          rig.tearAfterApdus(0)
          const operation =
            driver === tag
              ? tag.read(channel)
              : driver === signing
                ? signing.sign(channel, 1, hashOf(1))
                : staff.openSession(channel, 'till-0')
          await expect(operation).rejects.toBeInstanceOf(CardRemovedError)
          expect(channel.present).toBe(false)
        })
      })
    }

    describe('tag card driver', () => {
      it('reads a blank card as having no state, then reads back what it wrote', async () => {
        const card = newTag()
        const channel = await rig.present(card)
        const blank = await tag.read(channel)
        expect(blank.current).toBeUndefined()
        const w = await tag.write(channel, testState(1))
        expect(w.slot).toBe('A')
        const again = await tag.read(channel)
        expect(again.current?.payload).toEqual(testState(1))
        expect(again.current?.slot).toBe('A')
      })

      it('alternates slots, keeps state across re-presentation, and uses at most 4 APDUs per payment', async () => {
        const card = newTag()
        let channel = await rig.present(card)
        await tag.write(channel, testState(1))
        for (let seq = 2; seq <= 4; seq++) {
          channel = await rig.present(card)
          const before = channel.apduCount
          const { current } = await tag.read(channel)
          expect(current?.payload).toEqual(testState(seq - 1))
          const w = await tag.write(channel, testState(seq))
          expect(w.slot).toBe(current!.slot === 'A' ? 'B' : 'A')
          expect(w.generation).toBe(current!.generation + 1)
          // 2 READ BINARY (both slots) + 1 UPDATE BINARY + 1 read-back on a reader with multi-page commands.
          if (!strict) expect(channel.apduCount - before).toBeLessThanOrEqual(4)
        }
        channel = await rig.present(card)
        expect((await tag.read(channel)).current?.payload).toEqual(testState(4))
      })

      it('programs only the pages that changed in the older slot', async () => {
        const card = newTag()
        const channel = await rig.present(card)
        await tag.write(channel, testState(1))
        await tag.write(channel, testState(2))
        const before = card.pageWrites
        const nextState = testState(1)
        nextState[150] = nextState[150]! ^ 0xff // slot A held testState(1): header page(s) and this one page change
        const w = await tag.write(channel, nextState)
        expect(w.slot).toBe('A')
        expect(w.pagesWritten).toBeLessThan(SLOT_PAGES / 4)
        expect(card.pageWrites - before).toBeGreaterThanOrEqual(w.pagesWritten)
        expect((await tag.read(channel)).current?.payload).toEqual(nextState)
      })

      for (const tearAt of [0, 1, 5, 20]) {
        it(`a card pulled after ${tearAt} page writes keeps the previous valid state`, async () => {
          const card = newTag()
          let channel = await rig.present(card)
          await tag.write(channel, testState(1))
          await tag.write(channel, testState(2))
          channel = await rig.present(card)
          await tag.read(channel)
          card.tearAfterPageWrites = tearAt
          await expect(tag.write(channel, testState(3))).rejects.toBeInstanceOf(CardRemovedError)
          card.tearAfterPageWrites = undefined
          channel = await rig.present(card)
          const after = await tag.read(channel)
          expect(after.current?.payload).toEqual(testState(2))
          // and the card still takes the next payment
          await tag.write(channel, testState(4))
          channel = await rig.present(card)
          expect((await tag.read(channel)).current?.payload).toEqual(testState(4))
        })
      }

      it('a card pulled between the write and the read-back keeps a valid state', async () => {
        const card = newTag()
        let channel = await rig.present(card)
        await tag.write(channel, testState(1))
        channel = await rig.present(card)
        await tag.read(channel)
        rig.tearAfterApdus(1) // the UPDATE BINARY is answered, the read-back is not
        await expect(tag.write(channel, testState(2))).rejects.toBeInstanceOf(CardRemovedError)
        channel = await rig.present(card)
        const payload = (await tag.read(channel)).current?.payload
        // The write completed on the card before it left: either state is acceptable, never none.
        expect([testState(1), testState(2)]).toContainEqual(payload)
      })

      it('falls back to the older slot when the newer one fails validation', async () => {
        const card = newTag()
        const channel = await rig.present(card)
        await tag.write(channel, testState(1))
        const forged = testState(2)
        forged[0] = 0x02 // the test validator refuses it
        await tag.write(channel, forged)
        const r = await tag.read(channel)
        expect(r.current?.payload).toEqual(testState(1))
        expect(r.rejected.map((x) => x.slot)).toContain('B')
      })

      it('refuses a state larger than a slot and writes nothing', async () => {
        const card = newTag()
        const channel = await rig.present(card)
        await expect(tag.write(channel, testState(1, MAX_STATE_BYTES + 1))).rejects.toBeInstanceOf(
          CardStateTooLargeError,
        )
        expect(card.pageWrites).toBe(0)
        await tag.write(channel, testState(1, MAX_STATE_BYTES))
        expect((await tag.read(channel)).current?.payload).toEqual(testState(1, MAX_STATE_BYTES))
      })
    })

    describe('signing card driver', () => {
      it('returns the public key and counter, and signs per the card-sig/v1 contract', async () => {
        const card = new VirtualSigningCard()
        const channel = await rig.present(card)
        const key = await signing.getPublicKey(channel)
        expect(Buffer.from(key.publicKey).equals(card.publicKey)).toBe(true)
        expect(key.counter).toBe(0)
        const sig = await signing.sign(channel, 1, hashOf(7))
        expect(await verifyCardSignature(key.publicKey, 1, hashOf(7), sig)).toBe(true)
        expect(await verifyCardSignature(key.publicKey, 2, hashOf(7), sig)).toBe(false)
        expect((await signing.getPublicKey(channel)).counter).toBe(1)
      })

      it('refuses a sequence not above its counter, across re-presentations', async () => {
        const card = new VirtualSigningCard()
        let channel = await rig.present(card)
        await signing.sign(channel, 5, hashOf(1))
        await expect(signing.sign(channel, 5, hashOf(2))).rejects.toBeInstanceOf(CardSequenceRefusedError)
        await expect(signing.sign(channel, 4, hashOf(2))).rejects.toBeInstanceOf(CardSequenceRefusedError)
        channel = await rig.present(card)
        await expect(signing.sign(channel, 5, hashOf(3))).rejects.toBeInstanceOf(CardSequenceRefusedError)
        await signing.sign(channel, 6, hashOf(3))
        expect((await signing.getPublicKey(channel)).counter).toBe(6)
      })
    })

    describe('staff card driver', () => {
      it('opens and closes a till session on a signing staff card with signed, chained proofs', async () => {
        const channel = await rig.present(staffCard)
        const session = await staff.openSession(channel, 'till-1')
        expect(session.staff).toEqual(staffMember)
        const open = session.opened
        expect(open.messageHash).toEqual(sessionMessageHash('open', 'till-1'))
        expect(
          await verifyCardSignature(staffCard.publicKey, open.cardSeq, open.messageHash, open.signature!),
        ).toBe(true)
        const close = await staff.closeSession(channel, session)
        expect(close.cardSeq).toBe(open.cardSeq + 1)
        expect(close.messageHash).toEqual(sessionMessageHash('close', 'till-1', open.messageHash))
        expect(
          await verifyCardSignature(staffCard.publicKey, close.cardSeq, close.messageHash, close.signature!),
        ).toBe(true)
      })

      it('opens and closes a session on a certified tag staff card (UID only, no signature)', async () => {
        let channel = await rig.present(staffTag)
        const session = await staff.openSession(channel, 'till-3')
        expect(session.staff).toEqual(barStaff)
        expect(session.opened.signature).toBeUndefined()
        channel = await rig.present(staffTag)
        const close = await staff.closeSession(channel, session)
        expect(close.action).toBe('close')
        expect(close.messageHash).toEqual(sessionMessageHash('close', 'till-3', session.opened.messageHash))
      })

      it('refuses uncertified cards, and a close by another card', async () => {
        let channel = await rig.present(new VirtualSigningCard())
        await expect(staff.openSession(channel, 'till-1')).rejects.toBeInstanceOf(NotStaffCardError)
        channel = await rig.present(newTag())
        await expect(staff.openSession(channel, 'till-1')).rejects.toBeInstanceOf(NotStaffCardError)
        channel = await rig.present(staffCard)
        const session = await staff.openSession(channel, 'till-2')
        channel = await rig.present(staffTag)
        await expect(staff.closeSession(channel, session)).rejects.toBeInstanceOf(NotStaffCardError)
        channel = await rig.present(staffCard)
        await staff.closeSession(channel, session)
      })
    })
  })
}
