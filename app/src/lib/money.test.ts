import { describe, expect, it } from 'vitest'
import type { AssetView } from '../../shared/protocol.ts'
import { formatAmount, parseAmount } from './money.ts'

const eur: AssetView = { id: 'EUR', name: 'Euros', symbol: '€', decimals: 2, refundable: true }
const points: AssetView = { id: 'GIFT', name: 'Points', symbol: 'pts', decimals: 0, refundable: false }

describe('formatAmount', () => {
  it('formats minor units in the locale, with the asset symbol', () => {
    expect(formatAmount(350, eur, 'fr-FR')).toBe('3,50 €')
    expect(formatAmount(350, eur, 'en-GB')).toBe('3.50 €')
    expect(formatAmount(-123456, eur, 'en-GB')).toBe('-1,234.56 €')
    expect(formatAmount(12, points, 'fr-FR')).toBe('12 pts')
  })
  it('keeps formats per locale and scale apart (cached formatters)', () => {
    for (let i = 0; i < 3; i++) {
      expect(formatAmount(5, eur, 'en-GB')).toBe('0.05 €')
      expect(formatAmount(5, points, 'en-GB')).toBe('5 pts')
      expect(formatAmount(5, eur, 'fr-FR')).toBe('0,05 €')
    }
  })
  it('matches toLocaleString for every amount of a seeded sample', () => {
    let seed = 20261121
    for (let i = 0; i < 500; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      const amount = (seed % 2_000_000) - 1_000_000
      const expected = (amount / 100).toLocaleString('fr-FR', {
        minimumFractionDigits: 2,
        maximumFractionDigits: 2,
      })
      expect(formatAmount(amount, eur, 'fr-FR'), `seed step ${i}, amount ${amount}`).toBe(`${expected} €`)
    }
  })
})

describe('parseAmount', () => {
  it('parses comma and dot decimals into minor units', () => {
    expect(parseAmount('12,50', 2)).toBe(1250)
    expect(parseAmount('12.5', 2)).toBe(1250)
    expect(parseAmount('7', 0)).toBe(7)
  })
  it('refuses bad input', () => {
    expect(parseAmount('1,234', 2)).toBeUndefined()
    expect(parseAmount('abc', 2)).toBeUndefined()
    expect(parseAmount('-3', 2)).toBeUndefined()
  })
})
