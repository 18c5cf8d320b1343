import { transform } from 'receiptline'
import type { Block } from './layout.ts'

const special = /[\\|{}\-=~_"`^]/g
const escapeMarkup = (text: string) => text.replace(special, (c) => `\\${c}`)

const sizeMarks = { normal: '', tall: '^^', large: '^^^' } as const

/** Layout blocks as ReceiptLine markup (https://github.com/receiptline/receiptline). */
export function toReceiptLine(blocks: readonly Block[]): string {
  const out: string[] = []
  let widths = ''
  for (const block of blocks) {
    switch (block.kind) {
      case 'text': {
        const mark = sizeMarks[block.size ?? 'normal']
        const text = `${mark}${block.bold ? '"' : ''}${escapeMarkup(block.text)}`
        if (widths) out.push('{w:auto}')
        widths = ''
        // ReceiptLine aligns a single column by the pipes around it: "|x" left, "x|" right, "x" centre.
        out.push(block.align === 'center' ? text : block.align === 'right' ? `${text}|` : `|${text}`)
        break
      }
      case 'row': {
        const spec = `{w:*,${block.widths.join(',')}}`
        if (spec !== widths) out.push(spec)
        widths = spec
        const [first = '', ...rest] = block.cells.map(escapeMarkup)
        const bold = block.bold ? '"' : ''
        out.push(`|${bold}${first} |${rest.map((cell) => ` ${bold}${cell}|`).join('')}`)
        break
      }
      case 'rule':
        out.push('-')
        break
      case 'feed':
        out.push('')
        break
      case 'cut':
        break
    }
  }
  return `${out.join('\n')}\n`
}

/**
 * SVG preview of layout blocks for the app. The web-font @import that receiptline adds is removed:
 * the app works offline and falls back to a local monospace font.
 */
export function renderSvg(blocks: readonly Block[], options: { columns?: number } = {}): string {
  const svg = transform(toReceiptLine(blocks), {
    cpl: options.columns ?? 42,
    encoding: 'cp858',
    command: 'svg',
  })
  return svg.replace(/<style[^>]*>[\s\S]*?<\/style>/, '')
}
