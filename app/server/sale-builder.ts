// Turns a till's cart and payments into ledger sale bodies. A ledger sale sits on at most one card chain,
// so a sale paid by two cards becomes one sale per card, linked by SPLIT_PRODUCT lines that net to zero:
// the first card's sale holds the products and a line of -b for the part paid by the second card, whose
// own sale holds the matching +b line. Every record balances on its own (ledger rule 'sale-balance').
import type { ChainPosition, Sale, SaleLine, SalePayment } from '../../ledger/types.ts'
import type { PaymentInput, ProductView, SaleLineInput } from '../shared/protocol.ts'
import { InvalidRequestError, NotFoundError, PaymentMismatchError } from './errors.ts'
import { SPLIT_PRODUCT } from './reports.ts'

export type SaleBody = Omit<Sale, 'device' | 'deviceSeq' | 'devicePrev' | 'time' | 'staff'>

export interface SalePlan {
  /** One body per card paying (in payment order), or a single card-less body. */
  bodies: { cardId: string | null; body: SaleBody }[]
  total: number
  asset: string
  /** Cash to hand back: cash received beyond what was due. */
  change: number
}

export function planSale(
  products: ProductView[],
  input: { lines: SaleLineInput[]; payments: PaymentInput[] },
  chainOf: (cardId: string) => ChainPosition,
): SalePlan {
  const lines: SaleLine[] = input.lines.map((l) => {
    const p = products.find((x) => x.id === l.productId)
    if (!p) throw new NotFoundError(`product ${l.productId}`)
    if (l.qty < 0 && !p.deposit) throw new InvalidRequestError(`only deposits can be returned (${p.id})`)
    return { product: p.id, quantity: l.qty, unitPrice: p.price, asset: p.asset, vatRate: p.vatBp }
  })
  const assets = new Set(lines.map((l) => l.asset))
  if (assets.size !== 1) throw new InvalidRequestError('a sale is priced in one asset')
  const asset = lines[0]!.asset
  const total = lines.reduce((s, l) => s + l.unitPrice * l.quantity, 0)
  // Money flows toward the venue (total > 0) or back to the customer (deposit returns, total < 0).
  const sign = total < 0 ? -1 : 1
  const due = Math.abs(total)

  const cardPayments = input.payments.filter((p) => p.method === 'card')
  const cardIds = cardPayments.map((p) => p.cardId)
  if (new Set(cardIds).size !== cardIds.length)
    throw new InvalidRequestError('a card pays at most once per sale')
  if (cardPayments.some((p) => p.asset !== asset))
    throw new InvalidRequestError(`card payments must be in ${asset}`)
  const nonCash = input.payments.filter((p) => p.method !== 'cash').reduce((s, p) => s + p.amount, 0)
  const cash = input.payments.filter((p) => p.method === 'cash').reduce((s, p) => s + p.amount, 0)
  if (nonCash > due) throw new PaymentMismatchError('card and bank payments exceed the total')
  if (nonCash + cash < due) throw new PaymentMismatchError(`payments ${nonCash + cash} < total ${due}`)
  if (sign < 0 && cash > due - nonCash) throw new PaymentMismatchError('no change on a deposit return')
  if (total === 0 && input.payments.length > 0) throw new PaymentMismatchError('nothing to pay')
  const cashKept = due - nonCash
  const change = cash - cashKept

  const payments: SalePayment[] = []
  const first = cardPayments[0]
  if (first) payments.push({ method: 'card', asset, amount: sign * first.amount })
  for (const p of input.payments)
    if (p.method === 'bankcard') payments.push({ method: 'bankcard', asset, amount: sign * p.amount })
  if (cashKept > 0) payments.push({ method: 'cash', asset, amount: sign * cashKept })

  const splitLines: SaleLine[] = cardPayments
    .slice(1)
    .map((p) => ({ product: SPLIT_PRODUCT, quantity: 1, unitPrice: -sign * p.amount, asset, vatRate: 0 }))
  const main: SaleBody = {
    kind: 'sale',
    chain: first ? chainOf(first.cardId) : null,
    lines: [...lines, ...splitLines],
    payments,
  }
  const bodies: SalePlan['bodies'] = [{ cardId: first?.cardId ?? null, body: main }]
  for (const p of cardPayments.slice(1)) {
    bodies.push({
      cardId: p.cardId,
      body: {
        kind: 'sale',
        chain: chainOf(p.cardId),
        lines: [{ product: SPLIT_PRODUCT, quantity: 1, unitPrice: sign * p.amount, asset, vatRate: 0 }],
        payments: [{ method: 'card', asset, amount: sign * p.amount }],
      },
    })
  }
  return { bodies, total, asset, change }
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
