// oneAssetSaleTotals is saleTotals without maps for sales that name one asset: on any such sale it must
// give the same totals or throw the same error (rule and message), and decline every other sale.
// Fixed seed, printed on failure.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LedgerRuleError } from './errors.ts'
import type { LedgerRecord } from './types.ts'
import { oneAssetSaleTotals, saleTotals } from './validate.ts'

type Sale = Extract<LedgerRecord, { kind: 'sale' }>
const SEED = Number(process.env.LEDGER_PROPERTY_SEED ?? 20261121)

const amount = fc.oneof(
  fc.integer({ min: -2000, max: 2000 }),
  fc.constantFrom(0, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 53, 1.5, 2 ** 40),
)
const asset = fc.constantFrom('EUR', 'EUR', 'EUR', 'GIFT')
const sale = fc.record({
  lines: fc.array(
    fc.record({
      product: fc.constantFrom('beer', 'wine'),
      quantity: amount,
      unitPrice: amount,
      asset,
      vatRate: fc.constantFrom(0, 550, 2000, 10_000, 10_001),
    }),
    { maxLength: 4 },
  ),
  payments: fc.array(fc.record({ method: fc.constantFrom('card', 'cash', 'bankcard'), asset, amount }), {
    maxLength: 3,
  }),
})

function outcome<T>(f: () => T): T | string {
  try {
    return f()
  } catch (err) {
    if (err instanceof LedgerRuleError) return `${err.rule}: ${err.message}`
    throw err
  }
}

describe('oneAssetSaleTotals', () => {
  it('equals saleTotals on one-asset sales and declines the others', () => {
    fc.assert(
      fc.property(sale, (body) => {
        const rec = body as unknown as Sale
        const assets = new Set([...rec.lines.map((l) => l.asset), ...rec.payments.map((p) => p.asset)])
        const fast = outcome(() => oneAssetSaleTotals(rec))
        if (assets.size !== 1) {
          expect(fast).toBeNull()
          return
        }
        const [only] = assets
        const full = outcome(() => {
          const t = saleTotals(rec)
          return {
            asset: only!,
            lines: t.lines.get(only!) ?? 0,
            payments: t.payments.get(only!) ?? 0,
            card: t.card.get(only!) ?? 0,
            byCard: t.card.size > 0,
          }
        })
        expect(fast, `seed ${SEED}`).toEqual(full)
      }),
      { seed: SEED, numRuns: 3000 },
    )
  })
})
