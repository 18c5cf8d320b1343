// The demo reader's staff sessions on a signing card, through hardware's StaffCardDriver: the card signs
// the open and the close (counter kept in its card file), the close is chained to the open, and another
// card can neither open (not certified) nor close.
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  cardSignatureMessage,
  type StaffDirectory,
  sessionMessageHash,
  type TillSessionProof,
} from '../../hardware/mod.ts'
import { demoVirtualCards, SimulatedCardReader, type TagStateCodec } from './sim-card-reader.ts'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lakou-sim-reader-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

// Tag states are not used here: a codec at the unit's edge that refuses everything.
const codec: TagStateCodec<{ cardSeq: number }> = {
  verify: async () => Promise.reject(new Error('not used')),
  sign: async () => Promise.reject(new Error('not used')),
}

async function verifies(proof: TillSessionProof): Promise<boolean> {
  const key = await crypto.subtle.importKey(
    'raw',
    new Uint8Array(proof.card.publicKey!),
    { name: 'Ed25519' },
    false,
    ['verify'],
  )
  return crypto.subtle.verify(
    'Ed25519',
    key,
    new Uint8Array(proof.signature!),
    new Uint8Array(cardSignatureMessage(proof.cardSeq, proof.messageHash)),
  )
}

describe('SimulatedCardReader staff sessions', () => {
  it('a certified signing card signs the open and the chained close; other cards are refused', async () => {
    const cards = demoVirtualCards('staff-test', join(dir, 'cards'))
    const [, alex, sam] = cards.map((c) => Buffer.from(c.card).toString('hex'))
    const samKey = cards[2]!.card.slice(1) // a signing card's id: kind byte || Ed25519 public key
    const directory: StaffDirectory = {
      lookup: (ref) =>
        ref.publicKey && Buffer.from(ref.publicKey).equals(Buffer.from(samKey))
          ? { name: 'Sam', roles: ['cashier'] }
          : undefined,
    }
    const reader = new SimulatedCardReader(cards, codec)
    await reader.start()
    try {
      await reader.tap(alex!)
      await expect(reader.openStaffSession(alex!, 'till-1', directory)).rejects.toMatchObject({
        name: 'NotStaffCardError',
      })
      await reader.tap(sam!)
      const session = await reader.openStaffSession(sam!, 'till-1', directory)
      expect(session.staff.name).toBe('Sam')
      expect(session.opened.cardSeq).toBe(1)
      expect(await verifies(session.opened)).toBe(true)
      const counter = () => JSON.parse(readFileSync(join(dir, 'cards', 'sam.json'), 'utf8')).counter
      expect(counter()).toBe(1)

      await reader.tap(alex!)
      await expect(reader.closeStaffSession(session, directory)).rejects.toMatchObject({
        name: 'NotStaffCardError',
      })
      await reader.remove()
      await expect(reader.closeStaffSession(session, directory)).rejects.toMatchObject({
        name: 'CardNotPresentError',
      })
      await reader.tap(sam!)
      const closed = await reader.closeStaffSession(session, directory)
      expect(closed.cardSeq).toBe(2)
      expect(closed.messageHash).toEqual(sessionMessageHash('close', 'till-1', session.opened.messageHash))
      expect(await verifies(closed)).toBe(true)
      expect(counter()).toBe(2)
    } finally {
      await reader.stop()
    }
  })
})
