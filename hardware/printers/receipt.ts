import { InvalidPrintInputError } from './errors.ts'
import { type Catalog, catalogFor, type Locale } from './i18n.ts'
import type { Block } from './layout.ts'
import type { Receipt, ReceiptPayment } from './model.ts'
import { formatAmount, formatRate, splitVat } from './money.ts'
import { requireInteger, requireText, requireTime } from './validate.ts'

export interface TextOptions {
  readonly locale?: Locale
  /** IANA time zone for printed times. Default Europe/Paris. */
  readonly timeZone?: string
}

export interface VatRow {
  readonly rate: number
  readonly net: number
  readonly vat: number
  readonly gross: number
}

export interface ReceiptTotals {
  /** Sum of all lines (goods and deposit returns), in the currency's minor units. */
  readonly total: number
  readonly deposits: number
  /** One row per VAT rate over non-deposit lines, highest rate first. */
  readonly vat: readonly VatRow[]
}

export function receiptTotals(receipt: Receipt): ReceiptTotals {
  validateReceipt(receipt)
  const byRate = new Map<number, number>()
  let total = 0
  let deposits = 0
  for (const line of receipt.lines) {
    const amount = line.quantity * line.unitPrice
    total += amount
    if (line.deposit) deposits += amount
    else byRate.set(line.vatRate, (byRate.get(line.vatRate) ?? 0) + amount)
  }
  if (!Number.isSafeInteger(total)) throw new InvalidPrintInputError('receipt total overflows')
  const vat = [...byRate.entries()]
    .sort(([a], [b]) => b - a)
    .map(([rate, gross]) => ({ rate, gross, ...splitVat(gross, rate) }))
  return { total, deposits, vat }
}

export function formatTime(at: number, options: TextOptions): string {
  return new Intl.DateTimeFormat(options.locale === 'en' ? 'en-GB' : 'fr-FR', {
    dateStyle: 'short',
    timeStyle: 'short',
    timeZone: options.timeZone ?? 'Europe/Paris',
  }).format(at)
}

function paymentLabel(payment: ReceiptPayment, text: Catalog): string {
  if (payment.method === 'card') return `${text.paidWithCard} (${payment.asset.symbol})`
  return payment.method === 'cash' ? text.cash : text.bankCard
}

const amountWidth = 12
const rateWidth = 7

/** Customer receipt as layout blocks (print with renderEscPos, preview with renderSvg). */
export function receiptBlocks(receipt: Receipt, options: TextOptions = {}): Block[] {
  const totals = receiptTotals(receipt)
  const text = catalogFor(options.locale)
  const money = (minor: number) => formatAmount(minor, receipt.currency, options.locale)
  const blocks: Block[] = [
    { kind: 'text', text: receipt.venue.name, align: 'center', bold: true, size: 'large' },
    ...(receipt.venue.lines ?? []).map((line): Block => ({ kind: 'text', text: line, align: 'center' })),
    { kind: 'feed' },
    {
      kind: 'row',
      cells: [`${text.receipt} ${receipt.receiptId}`, formatTime(receipt.createdAt, options)],
      widths: [18],
    },
    { kind: 'rule' },
  ]
  const itemBlocks = (deposit: boolean) =>
    receipt.lines
      .filter((line) => Boolean(line.deposit) === deposit)
      .flatMap((line): Block[] => [
        { kind: 'text', text: line.name },
        {
          kind: 'row',
          cells: [
            `  ${line.quantity} x ${money(line.unitPrice)}`,
            deposit ? '' : formatRate(line.vatRate, options.locale),
            money(line.quantity * line.unitPrice),
          ],
          widths: [rateWidth, amountWidth],
        },
      ])
  blocks.push(...itemBlocks(false))
  if (receipt.lines.some((line) => line.deposit)) {
    blocks.push({ kind: 'text', text: text.depositReturns, bold: true }, ...itemBlocks(true))
  }
  blocks.push(
    { kind: 'rule' },
    { kind: 'row', cells: [text.total, money(totals.total)], widths: [amountWidth + 2], bold: true },
    { kind: 'feed' },
    { kind: 'row', cells: [text.vatRate, text.net, text.vat, text.gross], widths: [9, 8, 9] },
    ...totals.vat.map(
      (row): Block => ({
        kind: 'row',
        cells: [
          formatRate(row.rate, options.locale),
          formatAmount(row.net, { ...receipt.currency, symbol: '' }, options.locale).trim(),
          formatAmount(row.vat, { ...receipt.currency, symbol: '' }, options.locale).trim(),
          formatAmount(row.gross, { ...receipt.currency, symbol: '' }, options.locale).trim(),
        ],
        widths: [9, 8, 9],
      }),
    ),
    { kind: 'rule' },
    { kind: 'text', text: text.payments, bold: true },
    ...receipt.payments.map(
      (payment): Block => ({
        kind: 'row',
        cells: [paymentLabel(payment, text), formatAmount(payment.amount, payment.asset, options.locale)],
        widths: [amountWidth + 2],
      }),
    ),
  )
  if (receipt.change) {
    blocks.push({ kind: 'row', cells: [text.change, money(receipt.change)], widths: [amountWidth + 2] })
  }
  if (receipt.cardBalances?.length) {
    blocks.push({ kind: 'rule' })
    for (const { asset, balance } of receipt.cardBalances) {
      blocks.push({
        kind: 'row',
        cells: [`${text.cardBalance} (${asset.symbol})`, formatAmount(balance, asset, options.locale)],
        widths: [amountWidth + 2],
      })
    }
  }
  if (receipt.footer?.length) {
    blocks.push(
      { kind: 'feed' },
      ...receipt.footer.map((line): Block => ({ kind: 'text', text: line, align: 'center' })),
    )
  }
  blocks.push({ kind: 'cut' })
  return blocks
}

function validateReceipt(receipt: Receipt): void {
  requireText(receipt.venue?.name, 'venue name')
  requireText(receipt.receiptId, 'receipt id')
  requireTime(receipt.createdAt, 'receipt time')
  if (!Array.isArray(receipt.lines) || receipt.lines.length === 0) {
    throw new InvalidPrintInputError('a receipt needs at least one line')
  }
  receipt.lines.forEach((line, i) => {
    requireText(line.name, `line ${i} name`)
    requireInteger(line.quantity, `line ${i} quantity`, { nonZero: true })
    requireInteger(line.unitPrice, `line ${i} unit price`)
    if (!line.deposit) requireInteger(line.vatRate, `line ${i} VAT rate`, { min: 0 })
  })
  for (const [i, payment] of (receipt.payments ?? []).entries()) {
    if (!['card', 'cash', 'bank-card'].includes(payment.method)) {
      throw new InvalidPrintInputError(`payment ${i} has unknown method ${String(payment.method)}`)
    }
    requireInteger(payment.amount, `payment ${i} amount`)
  }
  if (receipt.change !== undefined) requireInteger(receipt.change, 'change', { min: 0 })
}
