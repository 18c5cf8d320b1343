// Record results make their hex hash only when read (ledger-index.ts RecordResult): they must still read,
// serialise and compare like the plain objects they replace, and keep the verdict of their own batch.
import { describe, expect, it } from 'vitest'
import { toHex } from './bytes.ts'
import { makeKit } from './test-kit.ts'

describe('ingest results', () => {
  it('name the record and what it waits for in hex, as JSON too, with the verdict of their batch', async () => {
    const kit = await makeKit('results')
    const till = kit.fx.writer(kit.fx.venues[0]!.cashier)
    const card = kit.fx.tagCards[0]!
    const first = await kit.topUp(till, card, 500)
    const second = await kit.topUp(till, card, 700)

    const [waiting] = await kit.ingest(second)
    expect(waiting!.hash).toBe(toHex(second.hash))
    expect(waiting!.type).toBe('record')
    expect(waiting!.status).toBe('pending')
    expect(waiting!.waitingFor).toBe(toHex(first.hash))
    expect(waiting).toMatchObject({
      hash: toHex(second.hash),
      status: 'pending',
      waitingFor: toHex(first.hash),
    })
    expect(JSON.parse(JSON.stringify(waiting))).toEqual({
      hash: toHex(second.hash),
      type: 'record',
      status: 'pending',
      waitingFor: toHex(first.hash),
    })

    const [valid] = await kit.ingest(first)
    expect(JSON.parse(JSON.stringify(valid))).toEqual({
      hash: toHex(first.hash),
      type: 'record',
      status: 'valid',
    })
    expect(valid!.waitingFor).toBeUndefined()
    expect(valid!.error).toBeUndefined()
    // the earlier result keeps the verdict it was given (its record is valid now)
    expect(waiting!.status).toBe('pending')
    expect(kit.index.balance(card, 'EUR')).toBe(1200)

    const [again] = await kit.ingest(first)
    expect(again).toMatchObject({ hash: toHex(first.hash), status: 'duplicate' })
  })

  it('carry the rule of a rejected record', async () => {
    const kit = await makeKit('results-rejected')
    const till = kit.fx.writer(kit.fx.venues[0]!.cashier)
    const card = kit.fx.tagCards[0]!
    const sale = await till.append({
      kind: 'sale',
      chain: kit.chain(card),
      lines: [{ product: 'wine', quantity: 1, unitPrice: 5000, asset: 'EUR', vatRate: 2000 }],
      payments: [{ method: 'card', asset: 'EUR', amount: 5000 }],
    })
    const [r] = await kit.ingest(sale)
    expect(r!.status).toBe('rejected')
    expect(r!.error).toMatchObject({ rule: 'floor' })
    expect(JSON.parse(JSON.stringify(r))).toMatchObject({ hash: toHex(sale.hash), status: 'rejected' })
  })
})

describe('IngestOptions.keepMalformed', () => {
  it('false: bytes that do not decode are reported in the results, not kept in rejected(); default: kept', async () => {
    const kit = await makeKit('keep-malformed')
    const garbage = [new Uint8Array([1, 2, 3]), new Uint8Array([0x45, 1, 0x41, 9])]
    const [a, b] = await kit.index.ingestMany(garbage, { keepMalformed: false })
    expect([a!.type, b!.type]).toEqual(['malformed', 'malformed'])
    expect(a!.status).toBe('rejected')
    expect(kit.index.rejected()).toEqual([])
    // a batch without the option, in flight at the same time, still keeps its own
    const [kept, dropped] = await Promise.all([
      kit.index.ingest(garbage[0]!),
      kit.index.ingest(garbage[1]!, { keepMalformed: false }),
    ])
    expect([kept.type, dropped.type]).toEqual(['malformed', 'malformed'])
    expect(kit.index.rejected().map((r) => r.bytes)).toEqual([garbage[0]])
  })
})
