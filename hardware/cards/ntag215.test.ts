import { describe, expect, it } from 'vitest'
import { fromHex, readBinaryApdu, responseData, statusWord, updateBinaryApdu } from '../apdu.ts'
import { ACR122U_LIMITS, NTAG215_PAGES, VirtualNtag215 } from './ntag215.ts'
import { CardTornError } from './virtual-card.ts'

const uid = fromHex('04a1b2c3d4e5f6')
const write = (card: VirtualNtag215, page: number, hex: string) =>
  statusWord(card.transmit(updateBinaryApdu(page, fromHex(hex))))
const read = (card: VirtualNtag215, page: number, length: number) =>
  card.transmit(readBinaryApdu(page, length))

describe('virtual NTAG215 behind an ACR122U', () => {
  it('answers GET UID with the 7-byte UID and lays it out with check bytes in pages 0-2', () => {
    const card = new VirtualNtag215({ uid })
    const r = card.transmit(fromHex('ffca000000'))
    expect(statusWord(r)).toBe(0x9000)
    expect(responseData(r)).toEqual(uid)
    const head = responseData(read(card, 0, 12))
    expect(head[3]).toBe(0x88 ^ 0x04 ^ 0xa1 ^ 0xb2) // BCC0
    expect(head[8]).toBe(0xc3 ^ 0xd4 ^ 0xe5 ^ 0xf6) // BCC1
    expect(statusWord(card.transmit(fromHex('ffca000004')))).toBe(0x6c07) // Le too short: right length hint
  })

  it('keeps the UID pages read-only and lock bytes / capability container one-way (OR)', () => {
    const card = new VirtualNtag215({ uid })
    expect(write(card, 0, '00000000')).toBe(0x6300)
    expect(write(card, 1, '00000000')).toBe(0x6300)
    expect(responseData(card.transmit(fromHex('ffca000000')))).toEqual(uid)
    expect(write(card, 3, '00000001')).toBe(0x9000)
    expect(write(card, 3, '00000000')).toBe(0x9000)
    expect(responseData(read(card, 3, 4))).toEqual(fromHex('e1103e01'))
  })

  it('writes 4-byte pages, reads any span inside the 135 pages, refuses beyond', () => {
    const card = new VirtualNtag215({ uid })
    expect(write(card, 4, 'deadbeef')).toBe(0x9000)
    expect(write(card, 129, '01020304')).toBe(0x9000)
    expect(responseData(read(card, 4, 4))).toEqual(fromHex('deadbeef'))
    expect(responseData(read(card, 128, 8))).toEqual(fromHex('0000000001020304'))
    expect(statusWord(read(card, NTAG215_PAGES, 4))).toBe(0x6300)
    expect(statusWord(read(card, 130, 24))).toBe(0x6300) // runs past page 134
    expect(write(card, NTAG215_PAGES, '00000000')).toBe(0x6300)
    expect(write(card, 4, 'deadbe')).toBe(0x6700) // not a whole page
  })

  it('static lock bits make pages read-only', () => {
    const card = new VirtualNtag215({ uid })
    expect(write(card, 2, '0000f000')).toBe(0x9000) // lock pages 4..7
    expect(write(card, 4, '11111111')).toBe(0x6300)
    expect(write(card, 8, '11111111')).toBe(0x9000)
  })

  it('applies the reader limits: an ACR122U moves 16 bytes per read and 4 per write', () => {
    const card = new VirtualNtag215({ uid, limits: ACR122U_LIMITS })
    expect(statusWord(read(card, 4, 16))).toBe(0x9000)
    expect(statusWord(read(card, 4, 20))).toBe(0x6700)
    expect(write(card, 4, '0102030405060708')).toBe(0x6700)
    const extended = new VirtualNtag215({ uid })
    expect(write(extended, 4, '0102030405060708')).toBe(0x9000)
    expect(responseData(read(extended, 4, 252)).length).toBe(252)
  })

  it('a tear mid-command leaves the pages before it written and the rest untouched', () => {
    const card = new VirtualNtag215({ uid })
    card.tearAfterPageWrites = 2
    expect(() => card.transmit(updateBinaryApdu(10, fromHex('111111112222222233333333')))).toThrow(
      CardTornError,
    )
    card.tearAfterPageWrites = undefined
    expect(card.peek(10, 12)).toEqual(fromHex('111111112222222200000000'))
  })

  it('re-creates a card from its memory image', () => {
    const card = new VirtualNtag215({ uid })
    write(card, 20, 'cafebabe')
    const copy = new VirtualNtag215({ image: card.image() })
    expect(copy.uid).toEqual(uid)
    expect(responseData(read(copy, 20, 4))).toEqual(fromHex('cafebabe'))
  })
})
