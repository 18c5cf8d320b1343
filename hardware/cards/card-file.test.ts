import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { SIGNING_AID, selectAidApdu, statusWord, updateBinaryApdu } from '../apdu.ts'
import { openCardFile } from './card-file.ts'
import type { VirtualNtag215 } from './ntag215.ts'
import type { VirtualSigningCard } from './signing-applet.ts'

const dir = mkdtempSync(join(tmpdir(), 'lakou-card-file-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('virtual cards kept in files', () => {
  it('a signing card persists its counter with each signature and refuses an old sequence after reopening', () => {
    const path = join(dir, 'signer.json')
    const first = openCardFile(path, 'signing').card as VirtualSigningCard
    first.transmit(selectAidApdu(SIGNING_AID))
    const sign = (card: VirtualSigningCard, seq: number) =>
      statusWord(card.transmit(Uint8Array.of(0x80, 0x20, 0, 0, 36, 0, 0, 0, seq, ...new Uint8Array(32))))
    expect(sign(first, 5)).toBe(0x9000)
    expect(JSON.parse(readFileSync(path, 'utf8')).counter).toBe(5) // on disk before anything else happens
    const again = openCardFile(path, 'signing').card as VirtualSigningCard
    expect(again.publicKey).toEqual(first.publicKey)
    again.transmit(selectAidApdu(SIGNING_AID))
    expect(sign(again, 5)).toBe(0x6985)
    expect(sign(again, 6)).toBe(0x9000)
  })

  it('a tag card keeps its memory and UID; the wrong kind is refused', () => {
    const path = join(dir, 'tag.json')
    const opened = openCardFile(path, 'tag')
    const tag = opened.card as VirtualNtag215
    tag.transmit(updateBinaryApdu(4, Uint8Array.of(1, 2, 3, 4)))
    opened.save()
    const again = openCardFile(path, 'tag').card as VirtualNtag215
    expect(again.uid).toEqual(tag.uid)
    expect(again.peek(4, 4)).toEqual(Uint8Array.of(1, 2, 3, 4))
    expect(() => openCardFile(path, 'signing')).toThrow(/holds a tag card/)
  })
})
