import { describe, expect, it } from 'vitest'
import { toHex, ZERO_HASH } from '../../ledger/bytes.ts'
import { createFixture } from '../../ledger/fixtures.ts'
import type { LedgerRecord } from '../../ledger/types.ts'
import { demoCatalog } from './demo-catalog.ts'
import {
  buildReport,
  expectedCash,
  exportCsv,
  exportFec,
  netOfVat,
  type ReportRecord,
  sinceLastCloseOut,
} from './reports.ts'
import { planSale } from './sale-builder.ts'

async function evening(): Promise<{ records: ReportRecord[]; device: string }> {
  const fx = await createFixture('app-reports', { venues: 1, signingCards: 1, tagCards: 1 })
  const venue = fx.venues[0]!
  const writer = fx.writer(venue.cashier, Date.UTC(2026, 0, 1, 20, 0))
  const { products } = demoCatalog(0)
  const card = fx.signingCards[0]!
  const records: ReportRecord[] = []
  const add = async (body: Parameters<typeof writer.append>[0], withCard = false) => {
    const s = await writer.append(body, withCard ? [card] : [])
    records.push({ hash: toHex(s.hash), record: s.record as LedgerRecord })
    return s
  }
  const top = await add(
    {
      kind: 'top-up',
      chain: { card: card.card, cardSeq: 1, cardPrev: ZERO_HASH },
      asset: 'EUR',
      amount: 2000,
      method: 'cash',
    },
    true,
  )
  const cardSale = planSale(
    products,
    {
      lines: [
        { productId: 'beer', qty: 2 },
        { productId: 'fries', qty: 1 },
      ],
      payments: [{ method: 'card', cardId: 'c', asset: 'EUR', amount: 1100 }],
    },
    () => ({ card: card.card, cardSeq: 2, cardPrev: top.hash }),
  )
  await add(cardSale.body, true)
  const cashSale = planSale(
    products,
    { lines: [{ productId: 'wine', qty: 1 }], payments: [{ method: 'cash', amount: 1000 }] },
    () => {
      throw new Error('no card')
    },
  )
  const voided = await add(cashSale.body)
  await add({ kind: 'void', chain: null, target: voided.hash, reason: 'mistake' })
  await add(
    planSale(
      products,
      { lines: [{ productId: 'coffee', qty: 1 }], payments: [{ method: 'cash', amount: 150 }] },
      () => {
        throw new Error('no card')
      },
    ).body,
  )
  return { records, device: toHex(venue.cashier.key.publicKey) }
}

describe('reports from signed records', () => {
  it('totals sales per product, hour and method, ignoring voided sales', async () => {
    const { records } = await evening()
    const r = buildReport(records, { asset: 'EUR', productName: (id) => id, deviceName: () => 'till' })
    expect(r.totalSales).toBe(1100 + 150)
    expect(r.saleCount).toBe(2)
    expect(r.byProduct.find((x) => x.key === 'beer')).toMatchObject({ amount: 700, count: 2 })
    expect(r.byProduct.find((x) => x.key === 'wine')).toBeUndefined()
    expect(r.byHour.map((x) => x.key)).toEqual(['20h'])
    expect(r.byMethod).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key: 'card', amount: 1100 }),
        expect.objectContaining({ key: 'cash', amount: 150 }),
      ]),
    )
  })

  it('expects cash from cash top-ups and non-voided cash sales', async () => {
    const { records, device } = await evening()
    expect(expectedCash(sinceLastCloseOut(records, device), 'EUR')).toBe(2000 + 150)
  })

  it('writes a FEC whose every entry balances and a CSV with one row per line and payment', async () => {
    const { records } = await evening()
    const fec = exportFec(records).replace(/\n$/, '').split('\n')
    expect(fec[0]!.split('\t')).toHaveLength(18)
    const sums = new Map<string, number>()
    const cents = (s: string) => Number(s.replace(',', '')) // "12,34" -> 1234 without floats
    for (const line of fec.slice(1)) {
      const c = line.split('\t')
      expect(c).toHaveLength(18)
      sums.set(c[2]!, (sums.get(c[2]!) ?? 0) + cents(c[11]!) - cents(c[12]!))
    }
    expect(sums.size).toBe(3) // top-up, card sale, coffee (the voided wine is left out)
    for (const s of sums.values()) expect(s).toBe(0)
    const csv = exportCsv(records, (id) => id)
      .trim()
      .split('\n')
    expect(csv.filter((l) => l.includes(';sale-voided;'))).toHaveLength(1)
    expect(csv.some((l) => l.includes(';top-up;cash;1;EUR;20.00;'))).toBe(true)
  })

  it('splits VAT-inclusive prices without floats', () => {
    expect(netOfVat(1200, 2000)).toBe(1000)
    expect(netOfVat(110, 1000)).toBe(100)
    expect(netOfVat(0, 550)).toBe(0)
  })
})
