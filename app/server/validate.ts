// Input validation for the WebSocket API: every params object is checked against a small schema before
// the service sees it, so bad input gets an InvalidRequestError and nothing is written.
import type { Method, Params } from '../shared/protocol.ts'
import { InvalidRequestError } from './errors.ts'

type Check<T> = (value: unknown, path: string) => T

const fail = (path: string, what: string): never => {
  throw new InvalidRequestError(`${path}: ${what}`, { path })
}

const obj = (v: unknown, path: string): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : fail(path, 'expected an object')

export const str =
  (max = 200): Check<string> =>
  (v, path) =>
    typeof v === 'string' && v.length > 0 && v.length <= max
      ? v
      : fail(path, `expected a string of 1..${max} chars`)

/** An integer in [min, max]: money is always integer minor units. */
export const int =
  (min: number, max: number): Check<number> =>
  (v, path) =>
    Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max
      ? (v as number)
      : fail(path, `expected an integer in [${min}, ${max}]`)

export const bool: Check<boolean> = (v, path) =>
  typeof v === 'boolean' ? v : fail(path, 'expected a boolean')

export const oneOf =
  <T extends string>(...values: T[]): Check<T> =>
  (v, path) =>
    values.includes(v as T) ? (v as T) : fail(path, `expected one of ${values.join(', ')}`)

export const optional =
  <T>(check: Check<T>): Check<T | undefined> =>
  (v, path) =>
    v === undefined ? undefined : check(v, path)

export const array =
  <T>(check: Check<T>, maxLength: number): Check<T[]> =>
  (v, path) => {
    if (!Array.isArray(v) || v.length > maxLength)
      return fail(path, `expected an array of at most ${maxLength}`)
    return v.map((item, i) => check(item, `${path}[${i}]`))
  }

export const shape =
  <T>(fields: { [K in keyof T]: Check<T[K]> }): Check<T> =>
  (v, path) => {
    const o = obj(v, path)
    for (const key of Object.keys(o)) if (!(key in fields)) fail(`${path}.${key}`, 'unknown field')
    const out: Record<string, unknown> = {}
    for (const [key, check] of Object.entries(fields) as [string, Check<unknown>][]) {
      const value = check(o[key], `${path}.${key}`)
      if (value !== undefined) out[key] = value
    }
    return out as T
  }

const MAX_AMOUNT = 100_000_000 // 1,000,000.00 in cents: far above any bar tab, far below float trouble
const id = str(100)
const amount = int(1, MAX_AMOUNT)
const price = int(0, MAX_AMOUNT)
const empty = shape<Record<string, never>>({})

const payment: Check<Params<'sale.pay'>['payments'][number]> = (v, path) => {
  const o = obj(v, path)
  if (o.method === 'card') return shape({ method: oneOf('card'), cardId: id, asset: id, amount })(v, path)
  return shape({ method: oneOf('cash', 'bankcard'), amount })(v, path)
}

const ticketType = shape({ id, name: str(), price, asset: id })

const schemas: { [M in Method]: Check<Params<M>> } = {
  'state.get': empty,
  'session.open': shape({ staffCardId: id }),
  'session.close': empty,
  'card.get': shape({ cardId: id }),
  'card.history': shape({ cardId: id }),
  'sale.pay': shape({
    lines: (v, p) => {
      const lines = array(shape({ productId: id, qty: int(-99, 99) }), 100)(v, p)
      if (lines.length === 0) fail(p, 'a sale needs at least one line')
      for (const [i, l] of lines.entries()) if (l.qty === 0) fail(`${p}[${i}].qty`, 'must not be 0')
      return lines
    },
    payments: array(payment, 4),
    splitRemainder: optional(bool),
  }),
  'sale.payRemainder': shape({ saleId: str(64), payments: array(payment, 4) }),
  'sale.voidLast': empty,
  'card.topUp': shape({ cardId: id, asset: id, amount, paidBy: oneOf('cash', 'bankcard', 'free') }),
  'card.refund': shape({ cardId: id, asset: id, amount }),
  'card.replace': shape({ lostCardId: id, newCardId: id }),
  'membership.sell': shape({ cardId: id, planId: id, paidBy: oneOf('cash', 'bankcard', 'card') }),
  'ticket.sell': shape({
    cardId: id,
    eventId: id,
    ticketTypeId: id,
    paidBy: oneOf('cash', 'bankcard', 'card'),
  }),
  'door.check': (v, p) => {
    const r = shape({ eventId: id, cardId: optional(id), ticketCode: optional(str(200)) })(v, p)
    if (!r.cardId === !r.ticketCode) fail(p, 'give exactly one of cardId or ticketCode')
    return r
  },
  'admin.product.save': shape({
    id,
    name: str(),
    categoryId: id,
    price,
    asset: id,
    vatBp: int(0, 10_000),
    deposit: optional(bool),
  }),
  'admin.category.save': shape({ id, name: str(), printer: optional(id) }),
  'admin.asset.save': shape({ id, name: str(), symbol: str(8), decimals: int(0, 4), refundable: bool }),
  'admin.plan.save': shape({ id, name: str(), price, asset: id, days: int(1, 3660) }),
  'admin.event.save': shape({
    id,
    name: str(),
    startsAt: str(40),
    capacity: int(1, 1_000_000),
    ticketTypes: array(ticketType, 20),
  }),
  'admin.enroll.offer': shape({ role: oneOf('till', 'door', 'admin'), name: str(60) }),
  'admin.federation.admit': shape({ venueName: str(), venuePublicKey: str(100) }),
  'admin.closeOut': shape({ countedCash: int(0, MAX_AMOUNT), scope: oneOf('device', 'venue') }),
  'admin.report': shape({ asset: optional(id) }),
  'admin.export': shape({ format: oneOf('csv', 'fec') }),
  'sim.tap': shape({ cardId: id }),
  'sim.remove': empty,
  'net.setOnline': shape({ online: bool }),
  'client.whoami': empty,
  'admin.pair.offer': shape({ role: oneOf('till', 'door', 'admin', 'portal'), name: optional(str(60)) }),
}

export function isMethod(name: unknown): name is Method {
  return typeof name === 'string' && Object.hasOwn(schemas, name)
}

export function validateParams<M extends Method>(method: M, params: unknown): Params<M> {
  return schemas[method](params ?? {}, 'params')
}
