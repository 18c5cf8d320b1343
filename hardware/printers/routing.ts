import { InvalidPrintInputError } from './errors.ts'
import type { KitchenOrder, OrderLine } from './model.ts'
import { requireInteger, requireText, requireTime } from './validate.ts'

/** Category -> printer id. `null` means "this category needs no ticket" (e.g. merchandise). */
export interface RoutingTable {
  readonly routes: Readonly<Record<string, string | null>>
  /** Printer for categories missing from `routes`. Without it they are reported as unrouted. */
  readonly defaultPrinterId?: string
}

export interface KitchenTicket {
  readonly printerId: string
  readonly order: KitchenOrder
}

export interface RoutedOrder {
  /** One ticket per printer, lines in order of the original order. */
  readonly tickets: readonly KitchenTicket[]
  /** Lines whose category has no route and no default printer: the app must show them. */
  readonly unrouted: readonly OrderLine[]
  /** Lines whose category is routed to `null` on purpose. */
  readonly skipped: readonly OrderLine[]
}

export function validateOrder(order: KitchenOrder): void {
  requireText(order.orderId, 'order id')
  requireTime(order.createdAt, 'order time')
  if (!Array.isArray(order.lines)) throw new InvalidPrintInputError('order lines must be an array')
  order.lines.forEach((line, i) => {
    requireText(line.name, `line ${i} name`)
    requireText(line.categoryId, `line ${i} category`)
    requireInteger(line.quantity, `line ${i} quantity`, { nonZero: true })
  })
}

export function routeOrder(order: KitchenOrder, table: RoutingTable): RoutedOrder {
  validateOrder(order)
  const byPrinter = new Map<string, OrderLine[]>()
  const unrouted: OrderLine[] = []
  const skipped: OrderLine[] = []
  for (const line of order.lines) {
    const route = Object.hasOwn(table.routes, line.categoryId) ? table.routes[line.categoryId] : undefined
    const printerId = route === undefined ? table.defaultPrinterId : route
    if (printerId === null) skipped.push(line)
    else if (printerId === undefined) unrouted.push(line)
    else byPrinter.set(printerId, [...(byPrinter.get(printerId) ?? []), line])
  }
  const tickets = [...byPrinter.entries()].map(([printerId, lines]) => ({
    printerId,
    order: { ...order, lines },
  }))
  return { tickets, unrouted, skipped }
}
