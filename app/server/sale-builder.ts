// Turns a till's cart and payments into ledger sale bodies. A ledger sale sits on at most one card chain,
// and a signing card signs only while it is on the reader, so "the remainder on a second card" is two
// sales: the first holds the products, the first card's payment and a SPLIT_PRODUCT line of -b (the part
// left to pay); once the next card is tapped (or cash is given) a second sale holds the matching +b line
// and its payment. Each record balances on its own (ledger rule 'sale-balance'); the split lines net to
// zero across the pair, and a remainder left unpaid stays visible as an unmatched split line.
import type { ChainPosition, Sale, SaleLine, SalePayment } from '../../ledger/types.ts'
import type { PaymentInput, ProductView, SaleLineInput } from '../shared/protocol.ts'
import { InvalidRequestError, NotFoundError, PaymentMismatchError } from './errors.ts'
import { SPLIT_PRODUCT } from './reports.ts'

export type SaleBody = Omit<Sale, 'device' | 'deviceSeq' | 'devicePrev' | 'time' | 'staff'>

export interface SalePlan {
  body: SaleBody
  /** The card paying, if any (it must be on the reader). */
  cardId: string | null
  total: number
  asset: string
  /** Cash to hand back: cash received beyond what was due. */
  change: number
  /** Left to pay by the next card or in cash (sale.payRemainder). */
  remainder: number
}

function payments(
  input: PaymentInput[],
  due: number,
  sign: number,
  asset: string,
  allowRemainder: boolean,
): { list: SalePayment[]; cardId: string | null; change: number; remainder: number } {
  const cards = input.filter((p) => p.method === 'card')
  if (cards.length > 1)
    throw new InvalidRequestError('one card per sale: pay the remainder with the next card')
  if (cards.some((p) => p.asset !== asset)) throw new InvalidRequestError(`card payments must be in ${asset}`)
  const nonCash = input.filter((p) => p.method !== 'cash').reduce((s, p) => s + p.amount, 0)
  const cash = input.filter((p) => p.method === 'cash').reduce((s, p) => s + p.amount, 0)
  if (nonCash > due) throw new PaymentMismatchError('card and bank payments exceed the total')
  const remainder = allowRemainder && cash === 0 ? due - nonCash : 0
  if (nonCash + cash + remainder < due)
    throw new PaymentMismatchError(`payments ${nonCash + cash} < total ${due}`)
  if (sign < 0 && cash > due - nonCash) throw new PaymentMismatchError('no change on a deposit return')
  const cashKept = due - nonCash - remainder
  const list: SalePayment[] = []
  const card = cards[0]
  if (card) list.push({ method: 'card', asset, amount: sign * card.amount })
  for (const p of input)
    if (p.method === 'bankcard') list.push({ method: 'bankcard', asset, amount: sign * p.amount })
  if (cashKept > 0) list.push({ method: 'cash', asset, amount: sign * cashKept })
  return { list, cardId: card?.cardId ?? null, change: cash - cashKept, remainder }
}

export function planSale(
  products: ProductView[],
  input: { lines: SaleLineInput[]; payments: PaymentInput[]; splitRemainder?: boolean },
  chainOf: (cardId: string) => ChainPosition,
): SalePlan {
  const lines: SaleLine[] = input.lines.map((l) => {
    const p = products.find((x) => x.id === l.productId)
    if (!p) throw new NotFoundError(`product ${l.productId}`)
    if (l.qty < 0 && !p.deposit) throw new InvalidRequestError(`only deposits can be returned (${p.id})`)
    return { product: p.id, quantity: l.qty, unitPrice: p.price, asset: p.asset, vatRate: p.vatBp }
  })
  if (new Set(lines.map((l) => l.asset)).size !== 1)
    throw new InvalidRequestError('a sale is priced in one asset')
  const asset = lines[0]!.asset
  const total = lines.reduce((s, l) => s + l.unitPrice * l.quantity, 0)
  if (total === 0) throw new PaymentMismatchError('nothing to pay')
  // Money flows toward the venue (total > 0) or back to the customer (deposit returns, total < 0).
  const sign = total < 0 ? -1 : 1
  const pay = payments(
    input.payments,
    Math.abs(total),
    sign,
    asset,
    input.splitRemainder === true && sign > 0,
  )
  if (pay.remainder > 0)
    lines.push({ product: SPLIT_PRODUCT, quantity: 1, unitPrice: -pay.remainder, asset, vatRate: 0 })
  return {
    body: { kind: 'sale', chain: pay.cardId ? chainOf(pay.cardId) : null, lines, payments: pay.list },
    cardId: pay.cardId,
    total,
    asset,
    change: pay.change,
    remainder: pay.remainder,
  }
}

/** The second sale of a split payment: the +b split line, paid by the next card, cash or bank card. */
export function planRemainder(
  remainder: number,
  asset: string,
  input: PaymentInput[],
  chainOf: (cardId: string) => ChainPosition,
): SalePlan {
  const pay = payments(input, remainder, 1, asset, false)
  return {
    body: {
      kind: 'sale',
      chain: pay.cardId ? chainOf(pay.cardId) : null,
      lines: [{ product: SPLIT_PRODUCT, quantity: 1, unitPrice: remainder, asset, vatRate: 0 }],
      payments: pay.list,
    },
    cardId: pay.cardId,
    total: remainder,
    asset,
    change: pay.change,
    remainder: 0,
  }
}

/** Kitchen tickets: the sold products grouped by their category's printer route. */
export function kitchenTickets(
  products: ProductView[],
  categories: { id: string; printer?: string }[],
  lines: SaleLineInput[],
): { printer: string; lines: { name: string; qty: number }[] }[] {
  const byPrinter = new Map<string, { name: string; qty: number }[]>()
  for (const l of lines) {
    if (l.qty <= 0) continue
    const p = products.find((x) => x.id === l.productId)
    const printer = categories.find((c) => c.id === p?.categoryId)?.printer
    if (!p || !printer) continue
    byPrinter.set(printer, [...(byPrinter.get(printer) ?? []), { name: p.name, qty: l.qty }])
  }
  return [...byPrinter].map(([printer, ls]) => ({ printer, lines: ls }))
}
