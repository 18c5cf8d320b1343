import { describe, expect, it } from 'vitest'
import { InvalidPrintInputError } from './errors.ts'
import { order } from './fixtures.ts'
import { routeOrder } from './routing.ts'

describe('routing by category', () => {
  it('sends each category to its printer, keeps line order, skips null routes, reports the rest', () => {
    const routed = routeOrder(order, { routes: { drinks: 'bar', food: 'kitchen', merch: null } })
    expect(routed.tickets.map((t) => [t.printerId, t.order.lines.map((l) => l.productId)])).toEqual([
      ['bar', ['p1', 'p3']],
      ['kitchen', ['p2']],
    ])
    expect(routed.skipped.map((l) => l.productId)).toEqual(['p4'])
    expect(routed.unrouted.map((l) => l.productId)).toEqual(['p5'])
    expect(routed.tickets[0]?.order).toMatchObject({ orderId: order.orderId, label: 'Table 4' })
  })

  it('sends unrouted categories to the default printer when there is one', () => {
    const routed = routeOrder(order, { routes: { drinks: 'bar', merch: null }, defaultPrinterId: 'kitchen' })
    expect(routed.tickets.map((t) => [t.printerId, t.order.lines.map((l) => l.productId)])).toEqual([
      ['bar', ['p1', 'p3']],
      ['kitchen', ['p2', 'p5']],
    ])
    expect(routed.unrouted).toEqual([])
  })

  it('does not treat inherited object keys as routes', () => {
    const routed = routeOrder(
      { ...order, lines: [{ productId: 'x', name: 'x', categoryId: 'constructor', quantity: 1 }] },
      { routes: {} },
    )
    expect(routed.unrouted).toHaveLength(1)
  })

  it('rejects a malformed order with a typed error', () => {
    expect(() => routeOrder({ ...order, orderId: '' }, { routes: {} })).toThrow(InvalidPrintInputError)
    expect(() =>
      routeOrder(
        { ...order, lines: [{ productId: 'x', name: 'x', categoryId: 'a', quantity: 0.5 }] },
        { routes: {} },
      ),
    ).toThrow(InvalidPrintInputError)
  })
})
