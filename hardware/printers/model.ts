// What the till hands to the printers: orders for kitchen tickets, sales for customer receipts.
import type { PrintAsset } from './money.ts'

/** One product line of an order, as the kitchen needs it. */
export interface OrderLine {
  readonly productId: string
  readonly name: string
  /** Catalog category; decides which printer gets the line. */
  readonly categoryId: string
  readonly quantity: number
  /** Free text for the kitchen ("sans oignons"). */
  readonly note?: string
}

export interface KitchenOrder {
  /** Stable id of the order (e.g. the sale record's short hash); used for job ids, so retries never duplicate. */
  readonly orderId: string
  /** Number shown large on the ticket (short, e.g. "A17"). Defaults to orderId. */
  readonly number?: string
  /** Table, name or pager the order goes to. */
  readonly label?: string
  /** Milliseconds since the epoch. */
  readonly createdAt: number
  readonly lines: readonly OrderLine[]
}

export interface ReceiptLine {
  readonly name: string
  /** Integer; negative on deposit returns. */
  readonly quantity: number
  /** VAT-inclusive unit price in the receipt currency's minor units. */
  readonly unitPrice: number
  /** VAT rate in basis points: 2000 = 20 %, 550 = 5.5 %. Ignored for deposit lines (outside VAT). */
  readonly vatRate: number
  /** A deposit (returned cup, bottle): listed apart and outside the VAT breakdown. */
  readonly deposit?: boolean
}

export type PaymentMethod = 'card' | 'cash' | 'bank-card'

export interface ReceiptPayment {
  /** card = an asset on the member card (euros, gift points, local currency...). */
  readonly method: PaymentMethod
  readonly asset: PrintAsset
  /** In the asset's minor units. */
  readonly amount: number
}

export interface Receipt {
  readonly venue: { readonly name: string; readonly lines?: readonly string[] }
  /** Receipt / sale number printed in the header. */
  readonly receiptId: string
  readonly createdAt: number
  /** Asset the prices are in (normally euros). */
  readonly currency: PrintAsset
  readonly lines: readonly ReceiptLine[]
  readonly payments: readonly ReceiptPayment[]
  /** Cash given back, in the currency's minor units. */
  readonly change?: number
  /** Balances left on the member card after the sale, one per asset. */
  readonly cardBalances?: readonly { readonly asset: PrintAsset; readonly balance: number }[]
  readonly footer?: readonly string[]
}
