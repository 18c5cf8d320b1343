import { describe, expect, it } from 'vitest'
import { ZERO_HASH } from '../../ledger/bytes.ts'
import type { ChainPosition } from '../../ledger/types.ts'
import { saleTotals } from '../../ledger/validate.ts'
import { demoCatalog } from './demo-catalog.ts'
import { PaymentMismatchError } from './errors.ts'
import { kitchenTickets, planRemainder, planSale } from './sale-builder.ts'

const { products, categories } = demoCatalog(0)
const chainOf = (cardId: string): ChainPosition => ({
  card: new TextEncoder().encode(cardId),
  cardSeq: 1,
  cardPrev: ZERO_HASH,
})
const card = (cardId: string, amount: number) => ({ method: 'card' as const, cardId, asset: 'EUR', amount })

/** Every planned body must satisfy the ledger's own balance rule: lines == payments per asset. */
function expectBalanced(plan: ReturnType<typeof planSale>) {
  const header = {
    device: new Uint8Array(32),
    deviceSeq: 1,
    devicePrev: ZERO_HASH,
    time: 0,
    staff: new Uint8Array(0),
  }
  const t = saleTotals({ ...plan.body, ...header })
  expect(t.payments).toEqual(t.lines)
}

describe('planSale', () => {
  it('pays a cart with one card', () => {
    const plan = planSale(
      products,
      {
        lines: [
          { productId: 'beer', qty: 2 },
          { productId: 'cup', qty: 2 },
        ],
        payments: [card('a', 900)],
      },
      chainOf,
    )
    expect(plan.total).toBe(900)
    expect(plan.cardId).toBe('a')
    expect(plan.body.payments).toEqual([{ method: 'card', asset: 'EUR', amount: 900 }])
    expectBalanced(plan)
  })

  it('carries the remainder to a second card with split lines that net to zero', () => {
    const input = { lines: [{ productId: 'burger', qty: 1 }], payments: [card('a', 600)] }
    expect(() => planSale(products, input, chainOf)).toThrow(PaymentMismatchError)
    const first = planSale(products, { ...input, splitRemainder: true }, chainOf)
    expect(first.remainder).toBe(350)
    const second = planRemainder(first.remainder, 'EUR', [card('b', 350)], chainOf)
    expect(second.cardId).toBe('b')
    expectBalanced(first)
    expectBalanced(second)
    const split = [first, second].flatMap((p) => p.body.lines).filter((l) => l.product === 'lakou.split')
    expect(split).toHaveLength(2)
    expect(split.reduce((s, l) => s + l.unitPrice * l.quantity, 0)).toBe(0)
    const cash = planRemainder(350, 'EUR', [{ method: 'cash', amount: 500 }], chainOf)
    expect(cash.change).toBe(150)
    expectBalanced(cash)
  })

  it('keeps only the cash due and computes change', () => {
    const plan = planSale(
      products,
      {
        lines: [{ productId: 'fries', qty: 1 }],
        payments: [card('a', 150), { method: 'cash', amount: 500 }],
      },
      chainOf,
    )
    expect(plan.change).toBe(250)
    expect(plan.body.payments).toContainEqual({ method: 'cash', asset: 'EUR', amount: 250 })
    expectBalanced(plan)
  })

  it('returns deposits in the same sale and pays a negative total back onto the card', () => {
    const mixed = planSale(
      products,
      {
        lines: [
          { productId: 'beer', qty: 1 },
          { productId: 'cup', qty: -3 },
        ],
        payments: [{ method: 'cash', amount: 50 }],
      },
      chainOf,
    )
    expect(mixed.total).toBe(50)
    expectBalanced(mixed)
    const back = planSale(
      products,
      { lines: [{ productId: 'cup', qty: -2 }], payments: [card('a', 200)] },
      chainOf,
    )
    expect(back.total).toBe(-200)
    expect(back.body.payments).toEqual([{ method: 'card', asset: 'EUR', amount: -200 }])
    expectBalanced(back)
  })

  it('refuses payments that do not cover the total, two cards at once and returns of non-deposits', () => {
    const beer = [{ productId: 'beer', qty: 1 }]
    expect(() =>
      planSale(products, { lines: beer, payments: [{ method: 'cash', amount: 349 }] }, chainOf),
    ).toThrow(PaymentMismatchError)
    expect(() =>
      planSale(products, { lines: beer, payments: [{ method: 'bankcard', amount: 400 }] }, chainOf),
    ).toThrow(PaymentMismatchError)
    expect(() =>
      planSale(products, { lines: beer, payments: [card('a', 200), card('b', 150)] }, chainOf),
    ).toThrow(/one card/)
    expect(() =>
      planSale(products, { lines: [{ productId: 'beer', qty: -1 }], payments: [] }, chainOf),
    ).toThrow(/deposits/)
    expect(() =>
      planSale(products, { lines: [{ productId: 'nope', qty: 1 }], payments: [] }, chainOf),
    ).toThrow(/nope/)
  })
})

describe('kitchenTickets', () => {
  it('routes kitchen products to the kitchen printer only', () => {
    const tickets = kitchenTickets(products, categories, [
      { productId: 'beer', qty: 1 },
      { productId: 'fries', qty: 2 },
      { productId: 'crepe', qty: 1 },
    ])
    expect(tickets).toEqual([
      {
        printer: 'kitchen',
        lines: [
          { name: 'Frites', qty: 2 },
          { name: 'Crêpe', qty: 1 },
        ],
      },
    ])
  })
})
