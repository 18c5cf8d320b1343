import { describe, expect, it } from 'vitest'
import { createFixture, LedgerIndex } from './mod.ts'

describe('smoke', () => {
  it('top-up then sale on a tag card', async () => {
    const fx = await createFixture('smoke')
    const idx = new LedgerIndex({ federation: fx.federation.publicKey })
    const st = await idx.ingestMany(fx.statements)
    expect(st.every((r) => r.status === 'valid')).toBe(true)
    const till = fx.writer(fx.venues[0]!.cashier)
    const card = fx.tagCards[0]!
    const r1 = await till.append({
      kind: 'top-up',
      chain: { card, cardSeq: 1, cardPrev: new Uint8Array(32) },
      asset: 'EUR',
      amount: 2000,
      method: 'cash',
    })
    const r2 = await till.append({
      kind: 'sale',
      chain: { card, cardSeq: 2, cardPrev: r1.hash },
      lines: [{ product: 'beer', quantity: 2, unitPrice: 350, asset: 'EUR', vatRate: 2000 }],
      payments: [{ method: 'card', asset: 'EUR', amount: 700 }],
    })
    const res = await idx.ingestMany([r2.bytes, r1.bytes])
    expect(res.map((r) => r.status)).toEqual(['valid', 'valid'])
    expect(idx.balance(card, 'EUR')).toBe(1300)
    expect(idx.takings(fx.venues[0]!.key.publicKey)).toEqual([{ asset: 'EUR', amount: 700 }])
    expect(idx.checkInvariants()).toMatchObject({ ok: true })
  })
})

describe('signing-card contract', () => {
  it('message = "lakou/card-sig/v1" || cardSeq (4 bytes BE) || recordHash', async () => {
    const { cardSignatureMessage } = await import('./mod.ts')
    const hash = new Uint8Array(32).fill(0xaa)
    const m = cardSignatureMessage(0x01020304, hash)
    expect(new TextDecoder().decode(m.subarray(0, 17))).toBe('lakou/card-sig/v1')
    expect([...m.subarray(17, 21)]).toEqual([1, 2, 3, 4])
    expect(m.subarray(21)).toEqual(hash)
    expect([...cardSignatureMessage(0xffffffff, hash).subarray(17, 21)]).toEqual([255, 255, 255, 255])
    expect(() => cardSignatureMessage(0, hash)).toThrow(expect.objectContaining({ rule: 'card-counter' }))
  })
})
