import { verify } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { fromHex, responseData, SIGNING_AID, selectAidApdu, statusWord } from '../apdu.ts'
import { cardSignatureMessage, type SigningCardState, VirtualSigningCard } from './signing-applet.ts'

const signApdu = (seq: number, hash: Uint8Array) => {
  const a = new Uint8Array(41)
  a.set([0x80, 0x20, 0, 0, 36])
  new DataView(a.buffer).setUint32(5, seq)
  a.set(hash, 9)
  return a
}
const spki = (raw: Uint8Array) => Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw])

describe('virtual signing card applet', () => {
  it('answers nothing but SELECT until the Lakou AID is selected', () => {
    const card = new VirtualSigningCard()
    expect(statusWord(card.transmit(fromHex('8010000024')))).toBe(0x6986)
    expect(statusWord(card.transmit(selectAidApdu(fromHex('a0000000031010'))))).toBe(0x6a82)
    expect(statusWord(card.transmit(selectAidApdu(SIGNING_AID)))).toBe(0x9000)
    const r = card.transmit(fromHex('8010000024'))
    expect(statusWord(r)).toBe(0x9000)
    expect(responseData(r).subarray(0, 32)).toEqual(card.publicKey)
    card.reset() // power cycle drops the selection
    expect(statusWord(card.transmit(fromHex('8010000024')))).toBe(0x6986)
  })

  it('signs the contract message and refuses any cardSeq not above its counter', () => {
    const card = new VirtualSigningCard()
    card.transmit(selectAidApdu(SIGNING_AID))
    const hash = new Uint8Array(32).fill(9)
    const r = card.transmit(signApdu(3, hash))
    expect(statusWord(r)).toBe(0x9000)
    const key = { key: spki(card.publicKey), format: 'der' as const, type: 'spki' as const }
    expect(verify(null, cardSignatureMessage(3, hash), key, responseData(r))).toBe(true)
    expect(statusWord(card.transmit(signApdu(3, hash)))).toBe(0x6985)
    expect(statusWord(card.transmit(signApdu(2, hash)))).toBe(0x6985)
    expect(statusWord(card.transmit(signApdu(0, hash)))).toBe(0x6985)
    expect(card.counter).toBe(3)
    expect(statusWord(card.transmit(signApdu(4, hash).subarray(0, 30)))).toBe(0x6700)
  })

  it('persists the counter before the signature leaves the card, and restarts from it', () => {
    const saved: SigningCardState[] = []
    const card = new VirtualSigningCard({ persist: (s) => saved.push(s) })
    card.transmit(selectAidApdu(SIGNING_AID))
    card.transmit(signApdu(7, new Uint8Array(32)))
    expect(saved.at(-1)?.counter).toBe(7)
    const again = new VirtualSigningCard({ state: saved.at(-1)! })
    expect(again.publicKey).toEqual(card.publicKey)
    again.transmit(selectAidApdu(SIGNING_AID))
    expect(statusWord(again.transmit(signApdu(7, new Uint8Array(32))))).toBe(0x6985)
    expect(statusWord(again.transmit(signApdu(8, new Uint8Array(32))))).toBe(0x9000)
  })
})
