// A batch of a few records (a pushed record) is verified on the calling thread, a larger one through the
// thread pool: both must give the same verdict on every record, genuine or forged, and the same views.
// Fixed seed, printed on failure.
import { describe, expect, it } from 'vitest'
import { toHex } from './bytes.ts'
import { decodeEnvelope, encodeSigned } from './codec.ts'
import { createFixture, seededRandom } from './fixtures.ts'
import { LedgerIndex } from './ledger-index.ts'
import type { SignedRecord } from './sign.ts'
import { makeKit } from './test-kit.ts'

const SEED = Number(process.env.LEDGER_INLINE_SEED ?? 20261122)

// the same record with one bit of signature `which` flipped, or signature `which` replaced by `other`
function withSignature(r: SignedRecord, which: number, other?: Uint8Array, bit = 0): Uint8Array {
  const env = decodeEnvelope(r.bytes)
  const signatures = env.signatures.map((s) => s.slice())
  if (other) signatures[which] = other.slice()
  else signatures[which]![bit >> 3]! ^= 1 << (bit & 7)
  return encodeSigned(env.unsigned, signatures)
}

describe('inline verification (verifyInlineMax)', () => {
  it('gives the thread pool verdicts on genuine, forged and swapped signatures, one record at a time', async () => {
    const fx = await createFixture('verify-inline', { signingCards: 2, tagCards: 2 })
    const kit = await makeKit('verify-inline', fx)
    const rand = seededRandom(SEED)
    const w = fx.writer(fx.venues[0]!.cashier)
    const cards = [...fx.tagCards, ...fx.signingCards.map((s) => s.card)]
    const items: Array<{ bytes: Uint8Array; what: string }> = []
    for (let n = 0; n < 40; n++) {
      const card = cards[Math.floor(rand() * cards.length)]!
      const r = await kit.topUp(w, card, 1 + Math.floor(rand() * 500))
      const signatures = decodeEnvelope(r.bytes).signatures.length
      const cut = Math.floor(rand() * 4)
      // forged copies first: a corrupt copy must never block or replace the genuine record
      if (cut === 1)
        items.push({ bytes: withSignature(r, 0, undefined, Math.floor(rand() * 512)), what: 'device bit' })
      if (cut === 2 && signatures > 1)
        items.push({ bytes: withSignature(r, 1, undefined, Math.floor(rand() * 512)), what: 'card bit' })
      // the device's signature where the card's belongs: a valid signature by the wrong key
      if (cut === 3 && signatures > 1)
        items.push({ bytes: withSignature(r, 1, decodeEnvelope(r.bytes).signatures[0]), what: 'card key' })
      items.push({ bytes: r.bytes, what: 'genuine' })
    }
    const inline = new LedgerIndex({ federation: fx.federation.publicKey })
    const pool = new LedgerIndex({ federation: fx.federation.publicKey, verifyInlineMax: 0 })
    await inline.ingestMany(fx.statements)
    await pool.ingestMany(fx.statements)
    let forged = 0
    for (const [n, { bytes, what }] of items.entries()) {
      const a = await inline.ingest(bytes)
      const b = await pool.ingest(bytes)
      const label = `seed ${SEED}, item ${n} (${what})`
      expect({ status: a.status, rule: a.error?.name, hash: a.hash }, label).toEqual({
        status: b.status,
        rule: b.error?.name,
        hash: b.hash,
      })
      expect((a.error as { rule?: string } | undefined)?.rule, label).toBe(
        (b.error as { rule?: string } | undefined)?.rule,
      )
      if (what === 'genuine') expect(a.status, label).toBe('valid')
      else {
        forged++
        expect(a.status, label).toBe('rejected')
        expect((a.error as { rule?: string }).rule, label).toBe(
          what === 'device bit' ? 'signature' : 'card-signature',
        )
      }
    }
    expect(forged).toBeGreaterThan(5)
    expect(inline.counts()).toEqual(pool.counts())
    for (const card of cards) expect(inline.balance(card, 'EUR'), toHex(card)).toBe(pool.balance(card, 'EUR'))
  })

  it('applies a lone record before ingest returns; a larger batch waits for the pool', async () => {
    const kit = await makeKit('verify-inline-sync')
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    const records: SignedRecord[] = []
    for (let n = 0; n < 12; n++) records.push(await kit.topUp(w, kit.fx.tagCards[0]!, 10))
    const lone = kit.index.ingest(records[0]!.bytes)
    expect(kit.index.counts().valid).toBe(1) // verified and applied on this thread
    expect((await lone).status).toBe('valid')
    const batch = kit.index.ingestMany(records.slice(1).map((r) => r.bytes)) // 11 > 8: the pool
    expect(kit.index.counts().valid).toBe(1)
    expect((await batch).every((r) => r.status === 'valid')).toBe(true)
    expect(kit.index.counts().valid).toBe(12)
    expect(kit.index.balance(kit.fx.tagCards[0]!, 'EUR')).toBe(120)
  })
})
