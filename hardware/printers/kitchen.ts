import { catalogFor } from './i18n.ts'
import type { Block } from './layout.ts'
import { formatTime, type TextOptions } from './receipt.ts'
import type { KitchenTicket } from './routing.ts'

export interface KitchenTicketOptions extends TextOptions {
  /** Station name printed on top ("BAR", "CUISINE"). */
  readonly stationName?: string
}

/** Kitchen ticket: big order number, then one tall bold line per product with its note. */
export function kitchenTicketBlocks(ticket: KitchenTicket, options: KitchenTicketOptions = {}): Block[] {
  const text = catalogFor(options.locale)
  const { order } = ticket
  const blocks: Block[] = []
  if (options.stationName)
    blocks.push({ kind: 'text', text: options.stationName, align: 'center', bold: true })
  blocks.push({
    kind: 'text',
    text: `${text.order} ${order.number ?? order.orderId}`,
    bold: true,
    size: 'large',
  })
  if (order.label) blocks.push({ kind: 'text', text: order.label, bold: true, size: 'tall' })
  blocks.push({ kind: 'text', text: formatTime(order.createdAt, options) }, { kind: 'rule' })
  for (const line of order.lines) {
    blocks.push({ kind: 'text', text: `${line.quantity} x ${line.name}`, bold: true, size: 'tall' })
    if (line.note) blocks.push({ kind: 'text', text: `  > ${line.note}` })
  }
  blocks.push({ kind: 'rule' }, { kind: 'cut' })
  return blocks
}
