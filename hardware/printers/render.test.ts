import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { InvalidPrintInputError } from './errors.ts'
import { renderEscPos } from './escpos.ts'
import { decodeEscPos } from './escpos-decode.ts'
import { euro, giftPoints, order, receipt, timeCurrency } from './fixtures.ts'
import { kitchenTicketBlocks } from './kitchen.ts'
import { kitchenTicketPreviewSvg, receiptPreviewSvg } from './mod.ts'
import { formatAmount, formatRate, splitVat } from './money.ts'
import { receiptBlocks, receiptTotals } from './receipt.ts'

const printedText = (bytes: Uint8Array) => {
  const { pages } = decodeEscPos(bytes)
  expect(pages).toHaveLength(1)
  return pages[0]?.lines ?? []
}
const find = (lines: readonly { text: string }[], needle: string) =>
  lines.find((line) => line.text.includes(needle))

/** Text of an SVG made by receiptline: one string per <g> row, characters joined. */
const svgRows = (svg: string) =>
  [...svg.matchAll(/<g transform="translate\([^)]*\)">([\s\S]*?)<\/g>/g)].map((m) =>
    [...(m[1] ?? '').matchAll(/<tspan[^>]*>([^<]*)<\/tspan>/g)]
      .map((t) => (t[1] ?? '').replace(/&#xa0;/g, ' ').replace(/&amp;/g, '&'))
      .join(''),
  )

describe('amounts', () => {
  it('formats minor units with the asset decimals, French and English', () => {
    expect(formatAmount(123456, euro)).toBe('1 234,56 €')
    expect(formatAmount(123456, euro, 'en')).toBe('1,234.56 €')
    expect(formatAmount(-5, euro)).toBe('-0,05 €')
    expect(formatAmount(7, giftPoints)).toBe('7 pts')
    expect(formatAmount(150, timeCurrency)).toBe('1,50 h')
    expect(formatRate(550)).toBe('5,5 %')
    expect(formatRate(2000, 'en')).toBe('20 %')
    expect(() => formatAmount(1.5, euro)).toThrow(InvalidPrintInputError)
  })

  it('splits VAT so net + vat is the gross exactly and net is the rounded quotient (seed 4242)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -10_000_000, max: 10_000_000 }),
        fc.constantFrom(0, 210, 550, 1000, 2000),
        (g, r) => {
          const { net, vat } = splitVat(g, r)
          expect(net + vat).toBe(g)
          expect(Math.abs(net * (10_000 + r) - g * 10_000)).toBeLessThanOrEqual((10_000 + r) / 2)
        },
      ),
      { seed: 4242, numRuns: 500 },
    )
    expect(splitVat(1200, 2000)).toEqual({ net: 1000, vat: 200 })
  })
})

describe('customer receipt', () => {
  it('totals lines, deposits and VAT per rate on integers', () => {
    const totals = receiptTotals(receipt)
    expect(totals.total).toBe(700 + 850 + 300 - 200)
    expect(totals.deposits).toBe(-200)
    expect(totals.vat.map((row) => [row.rate, row.gross])).toEqual([
      [2000, 700],
      [1000, 850],
      [550, 300],
    ])
    expect(totals.vat[0]).toMatchObject({ net: 583, vat: 117 })
  })

  for (const codepage of ['windows1252', 'cp858'] as const) {
    it(`prints accents, euro sign and every section in ${codepage}`, () => {
      const bytes = renderEscPos(receiptBlocks(receipt, { timeZone: 'UTC' }), { codepage })
      const lines = printedText(bytes)
      const all = lines.map((line) => line.text).join('\n')
      expect(find(lines, 'Café Lakou')).toMatchObject({ bold: true, width: 2, height: 2 })
      expect(all).toContain('12 rue des Écoles')
      expect(all).toContain('Ticket T-0042')
      expect(all).toContain('21/11/2026 13:05')
      expect(all).toContain('Bière pression')
      expect(find(lines, '2 x 3,50 €')?.text).toMatch(/2 x 3,50 €\s+20 %\s+7,00 €$/)
      expect(find(lines, '1 x 3,00 €')?.text).toMatch(/5,5 %\s+3,00 €$/)
      expect(all).toContain('Consignes rendues')
      expect(find(lines, '-2 x 1,00 €')?.text).toMatch(/-2,00 €$/)
      expect(find(lines, 'Total TTC')).toMatchObject({ bold: true })
      expect(find(lines, 'Total TTC')?.text).toMatch(/16,50 €$/)
      expect(lines.find((line) => line.text.startsWith('20 %'))?.text).toMatch(/20 %\s+5,83\s+1,17\s+7,00$/)
      expect(find(lines, 'Carte (€)')?.text).toMatch(/10,00 €$/)
      expect(find(lines, 'Carte (pts)')?.text).toMatch(/1 pts$/)
      expect(find(lines, 'Espèces')?.text).toMatch(/5,00 €$/)
      expect(find(lines, 'Rendu monnaie')?.text).toMatch(/0,50 €$/)
      expect(find(lines, 'Solde carte (€)')?.text).toMatch(/12,34 €$/)
      expect(find(lines, 'Solde carte (pts)')?.text).toMatch(/3 pts$/)
      expect(all).toContain('Merci et à bientôt !')
      expect(decodeEscPos(bytes).pages[0]?.cut).toBe(true)
      expect(decodeEscPos(bytes).unknown).toEqual([])
    })
  }

  it('uses the code page bytes a printer expects (é = 0x82 in cp858, 0xE9 in windows-1252)', () => {
    const blocks = [{ kind: 'text', text: 'é' }] as const
    const cp858 = renderEscPos(blocks, { codepage: 'cp858' })
    const cp1252 = renderEscPos(blocks, { codepage: 'windows1252' })
    expect([...cp858]).toContain(0x82)
    expect([...cp858]).not.toContain(0xe9)
    expect([...cp1252]).toContain(0xe9)
    // ESC t 19 (cp858) and ESC t 16 (windows-1252) on Epson.
    expect(Buffer.from(cp858).includes(Buffer.from([0x1b, 0x74, 19]))).toBe(true)
    expect(Buffer.from(cp1252).includes(Buffer.from([0x1b, 0x74, 16]))).toBe(true)
  })

  it('prints œ in windows-1252 and spells it out where cp858 lacks it', () => {
    const blocks = [{ kind: 'text', text: 'Œuf cœur' }] as const
    expect(printedText(renderEscPos(blocks, { codepage: 'windows1252' }))[0]?.text).toBe('Œuf cœur')
    expect(printedText(renderEscPos(blocks, { codepage: 'cp858' }))[0]?.text).toBe('OEuf coeur')
  })

  it('speaks English when asked', () => {
    const all = printedText(renderEscPos(receiptBlocks(receipt, { locale: 'en', timeZone: 'UTC' })))
      .map((line) => line.text)
      .join('\n')
    expect(all).toContain('Total incl. VAT')
    expect(all).toContain('Deposit returns')
    expect(all).toMatch(/Cash\s+5\.00 €/)
    expect(all).not.toContain('Espèces')
  })

  it('rejects bad input with a typed error', () => {
    const bad = [
      { ...receipt, lines: [] },
      { ...receipt, lines: [{ name: 'x', quantity: 1, unitPrice: 3.5, vatRate: 2000 }] },
      { ...receipt, lines: [{ name: 'x', quantity: 0, unitPrice: 350, vatRate: 2000 }] },
      { ...receipt, lines: [{ name: '', quantity: 1, unitPrice: 350, vatRate: 2000 }] },
      { ...receipt, payments: [{ method: 'cheque', asset: euro, amount: 1 }] },
      { ...receipt, venue: { name: '' } },
    ] as (typeof receipt)[]
    for (const item of bad) expect(() => receiptBlocks(item)).toThrow(InvalidPrintInputError)
    expect(() => renderEscPos([], { model: 'star-tsp100iv' })).toThrow(InvalidPrintInputError)
  })

  it('previews as SVG with the same lines, without fetching web fonts', () => {
    const svg = receiptPreviewSvg(receipt, { timeZone: 'UTC' })
    expect(svg.startsWith('<svg')).toBe(true)
    expect(svg).not.toContain('googleapis')
    const rows = svgRows(svg)
    expect(rows).toContain('Café Lakou')
    expect(rows.some((row) => /^Bière pression\s*$/.test(row))).toBe(true)
    expect(rows.some((row) => /2 x 3,50 €\s*20 %\s*7,00 €/.test(row))).toBe(true)
    expect(rows.some((row) => /Total TTC\s*16,50 €/.test(row))).toBe(true)
    expect(rows.some((row) => /Solde carte \(pts\)\s*3 pts/.test(row))).toBe(true)
    expect(rows).toContain('Merci et à bientôt !')
  })
})

describe('kitchen ticket', () => {
  it('prints the order number large and each line tall and bold, with notes', () => {
    const ticket = { printerId: 'kitchen', order: { ...order, lines: order.lines.slice(1, 2) } }
    const lines = printedText(
      renderEscPos(kitchenTicketBlocks(ticket, { stationName: 'Cuisine', timeZone: 'UTC' })),
    )
    expect(lines[0]).toMatchObject({ bold: true })
    expect(lines[0]?.text.trim()).toBe('Cuisine')
    expect(find(lines, 'Commande A17')).toMatchObject({ width: 2, height: 2, bold: true })
    expect(find(lines, 'Table 4')).toMatchObject({ height: 2 })
    expect(find(lines, '1 x Crêpe complète')).toMatchObject({ bold: true, height: 2, width: 1 })
    expect(find(lines, '> sans œuf')).toBeDefined()
    expect(find(lines, 'Bière')).toBeUndefined()
    expect(kitchenTicketPreviewSvg(ticket, { timeZone: 'UTC' })).toContain('<tspan')
  })
})
