import { describe, expect, it } from 'vitest'
import { LedgerIndex } from './mod.ts'
import { makeKit } from './test-kit.ts'

describe('checkpoints', () => {
  it('a fresh index starts from a checkpoint, ignores covered history and continues the chains', async () => {
    const kit = await makeKit('checkpoint')
    const cafe = kit.fx.venues[0]!
    const w = kit.fx.writer(cafe.cashier)
    const [a, b] = kit.fx.tagCards
    const history = [await kit.topUp(w, a!, 1000), await kit.topUp(w, b!, 300)]
    const sale = await w.append({
      kind: 'sale',
      chain: kit.chain(a!),
      lines: [{ product: 'x', quantity: 1, unitPrice: 250, asset: 'EUR', vatRate: 0 }],
      payments: [{ method: 'card', asset: 'EUR', amount: 250 }],
    })
    kit.advance(a!, sale)
    history.push(sale)
    await kit.ingest(...history)
    const cp = await kit.index.exportCheckpoint(kit.fx.writer(cafe.relay))

    const fresh = new LedgerIndex({ federation: kit.fx.federation.publicKey })
    await fresh.ingestMany(kit.fx.statements)
    await fresh.importCheckpoint(cp.bytes)
    expect(fresh.balances(a!)).toEqual(kit.index.balances(a!))
    expect(fresh.balance(b!, 'EUR')).toBe(300)
    // old history delivered later is covered, not counted twice
    const res = await fresh.ingestMany(history.map((r) => r.bytes))
    expect(res.map((r) => r.status)).toEqual(['covered', 'covered', 'covered'])
    expect(fresh.balance(a!, 'EUR')).toBe(750)
    // new records continue both the device chain and the card chain from the checkpoint heads
    const next = await w.append({
      kind: 'sale',
      chain: kit.chain(a!),
      lines: [{ product: 'y', quantity: 1, unitPrice: 700, asset: 'EUR', vatRate: 0 }],
      payments: [{ method: 'card', asset: 'EUR', amount: 700 }],
    })
    expect((await fresh.ingest(next.bytes)).status).toBe('valid')
    expect((await kit.index.ingest(next.bytes)).status).toBe('valid')
    expect(fresh.balance(a!, 'EUR')).toBe(50)
    expect(fresh.balances(a!)).toEqual(kit.index.balances(a!))
    expect(fresh.checkInvariants()).toMatchObject({ ok: true })
    // the floor still holds from the checkpoint's balance
    const tooMuch = await w.append({
      kind: 'sale',
      chain: { card: a!, cardSeq: 4, cardPrev: next.hash },
      lines: [{ product: 'z', quantity: 1, unitPrice: 51, asset: 'EUR', vatRate: 0 }],
      payments: [{ method: 'card', asset: 'EUR', amount: 51 }],
    })
    expect((await fresh.ingest(tooMuch.bytes)).error).toMatchObject({ rule: 'floor' })
  })
})
