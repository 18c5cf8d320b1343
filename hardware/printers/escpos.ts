import ReceiptPrinterEncoder from '@point-of-sale/receipt-printer-encoder'
import { InvalidPrintInputError } from './errors.ts'
import { type Block, sizeFactors } from './layout.ts'

/** Code pages that print French accents and the euro sign. windows1252 also has œ/Œ. */
export type PrintCodepage = 'windows1252' | 'cp858'
export const printCodepages: readonly PrintCodepage[] = ['windows1252', 'cp858']

/** Printer model ids known to the encoder (its code page numbering per model), ESC/POS ones only. */
export type PrinterModel = NonNullable<ConstructorParameters<typeof ReceiptPrinterEncoder>[0]>['printerModel']

export interface EscPosOptions {
  /** Encoder printer model: picks the code page numbering and default columns. Default: a generic Epson. */
  readonly model?: PrinterModel
  readonly codepage?: PrintCodepage
  /** Characters per line in the normal font (42 on 80 mm Epson font A, 32 on 58 mm). */
  readonly columns?: number
}

// Characters missing from cp858 that French menus use, replaced before encoding.
const cp858Fallbacks: Record<string, string> = {
  œ: 'oe',
  Œ: 'OE',
  '’': "'",
  '‘': "'",
  '“': '"',
  '”': '"',
  '…': '...',
  '–': '-',
  '—': '-',
  '\u00a0': ' ',
  '\u202f': ' ',
}
const nbsp = /[\u00a0\u202f]/g

export function printable(text: string, codepage: PrintCodepage): string {
  if (codepage === 'cp858') return text.replace(/[œŒ’‘“”…–—\u00a0\u202f]/g, (c) => cp858Fallbacks[c] ?? c)
  return text.replace(nbsp, ' ')
}

/** Renders layout blocks to ESC/POS bytes through @point-of-sale/receipt-printer-encoder. */
export function renderEscPos(blocks: readonly Block[], options: EscPosOptions = {}): Uint8Array {
  const codepage = options.codepage ?? 'windows1252'
  if (!printCodepages.includes(codepage))
    throw new InvalidPrintInputError(`unsupported code page ${codepage}`)
  const encoder = new ReceiptPrinterEncoder({
    printerModel: options.model ?? 'epson-tm-t88vi',
    ...(options.columns ? { columns: options.columns } : {}),
  })
  if (encoder.language !== 'esc-pos') {
    throw new InvalidPrintInputError(`printer model ${options.model} does not speak ESC/POS`)
  }
  const columns = encoder.columns
  encoder.initialize().codepage(codepage)
  for (const block of blocks) {
    switch (block.kind) {
      case 'text': {
        const size = sizeFactors[block.size ?? 'normal']
        encoder
          .align(block.align ?? 'left')
          .bold(block.bold ?? false)
          .size(size.width, size.height)
          .line(printable(block.text, codepage))
          .size(1, 1)
          .bold(false)
          .align('left')
        break
      }
      case 'row': {
        const fixed = block.widths.reduce((sum, width) => sum + width, 0)
        const first = columns - fixed
        if (first < 4 || block.widths.length !== block.cells.length - 1) {
          throw new InvalidPrintInputError(
            `row widths ${block.widths.join(',')} do not fit ${columns} columns`,
          )
        }
        encoder.bold(block.bold ?? false)
        encoder.table(
          [
            { width: first, align: 'left' },
            ...block.widths.map((width) => ({ width, align: 'right' as const })),
          ],
          [block.cells.map((cell) => printable(cell, codepage))],
        )
        encoder.bold(false)
        break
      }
      case 'rule':
        encoder.rule()
        // The rule switches to a box-drawing code page: switch back for the text that follows.
        encoder.codepage(codepage)
        break
      case 'feed':
        encoder.newline()
        break
      case 'cut':
        encoder.cut('partial')
        break
    }
  }
  return encoder.encode()
}
