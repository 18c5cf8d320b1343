// Public surface of the printers: kitchen tickets routed by category, receipts, ESC/POS over TCP,
// SVG preview, and the persistent retry queue.
export {
  CorruptJobFileError,
  InvalidPrintInputError,
  PrinterUnreachableError,
  PrintServiceNotStartedError,
  UnknownPrinterError,
} from './errors.ts'
export {
  type EscPosOptions,
  type PrintCodepage,
  type PrinterModel,
  printCodepages,
  renderEscPos,
} from './escpos.ts'
export { type DecodedLine, type DecodedPage, type DecodedStream, decodeEscPos } from './escpos-decode.ts'
export { type PrinterState, type PrinterStatus, parseStatusReply, statusRequest } from './escpos-status.ts'
export { FakePrinter, type FakePrinterMode } from './fake-printer.ts'
export { type Catalog, catalogFor, catalogs, type Locale } from './i18n.ts'
export {
  FsPrintJobStore,
  MemoryPrintJobStore,
  type PrintJob,
  type PrintJobKind,
  type PrintJobStore,
} from './job-store.ts'
export { type KitchenTicketOptions, kitchenTicketBlocks } from './kitchen.ts'
export type { Block, TextSize } from './layout.ts'
export type { KitchenOrder, OrderLine, PaymentMethod, Receipt, ReceiptLine, ReceiptPayment } from './model.ts'
export { formatAmount, formatRate, type PrintAsset, splitVat } from './money.ts'
export { renderSvg, toReceiptLine } from './preview.ts'
export {
  type PrinterConfig,
  PrintService,
  type PrintServiceComponents,
  type PrintServiceEvents,
  type PrintServiceInit,
  type RetryPolicy,
  type SubmittedOrder,
} from './print-service.ts'
export { type ReceiptTotals, receiptBlocks, receiptTotals, type TextOptions, type VatRow } from './receipt.ts'
export { type KitchenTicket, type RoutedOrder, type RoutingTable, routeOrder } from './routing.ts'
export {
  type PrintAttempt,
  type PrinterAddress,
  type PrinterTransport,
  TcpPrinterClient,
  type TcpPrinterClientOptions,
} from './tcp-client.ts'

import { type KitchenTicketOptions, kitchenTicketBlocks } from './kitchen.ts'
import type { Receipt } from './model.ts'
import { renderSvg } from './preview.ts'
import { receiptBlocks, type TextOptions } from './receipt.ts'
import type { KitchenTicket } from './routing.ts'

/** SVG preview of a customer receipt, as the app shows it before (or instead of) printing. */
export function receiptPreviewSvg(
  receipt: Receipt,
  options: TextOptions & { columns?: number } = {},
): string {
  return renderSvg(receiptBlocks(receipt, options), options)
}

/** SVG preview of a kitchen ticket. */
export function kitchenTicketPreviewSvg(
  ticket: KitchenTicket,
  options: KitchenTicketOptions & { columns?: number } = {},
): string {
  return renderSvg(kitchenTicketBlocks(ticket, options), options)
}
