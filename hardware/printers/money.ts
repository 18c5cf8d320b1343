import { InvalidPrintInputError } from './errors.ts'
import type { Locale } from './i18n.ts'

/** What a receipt needs to know about an asset to print an amount of it. */
export interface PrintAsset {
  /** Asset id as in the ledger (opaque here). */
  readonly id: string
  /** Printed after the amount: '€', 'pts', 'h', 'Ğ1'... */
  readonly symbol: string
  /** Number of decimals of the minor unit: 2 for euro cents, 0 for points. */
  readonly decimals: number
}

/** Formats an integer amount in minor units with the asset's decimals; never goes through floats. */
export function formatAmount(minor: number, asset: PrintAsset, locale: Locale = 'fr'): string {
  if (!Number.isSafeInteger(minor)) {
    throw new InvalidPrintInputError(`amount must be a safe integer in minor units, got ${minor}`)
  }
  if (!Number.isInteger(asset.decimals) || asset.decimals < 0 || asset.decimals > 18) {
    throw new InvalidPrintInputError(`asset ${asset.id} has invalid decimals ${asset.decimals}`)
  }
  const negative = minor < 0
  const digits = String(Math.abs(minor)).padStart(asset.decimals + 1, '0')
  const whole = digits.slice(0, digits.length - asset.decimals)
  const fraction = digits.slice(digits.length - asset.decimals)
  const groupSeparator = locale === 'fr' ? ' ' : ','
  const decimalSeparator = locale === 'fr' ? ',' : '.'
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, groupSeparator)
  const number = fraction ? `${grouped}${decimalSeparator}${fraction}` : grouped
  return `${negative ? '-' : ''}${number} ${asset.symbol}`
}

/** VAT rate in basis points (550 = 5.5 %) printed as a percentage without floats. */
export function formatRate(basisPoints: number, locale: Locale = 'fr'): string {
  const whole = Math.trunc(basisPoints / 100)
  const rest = String(basisPoints % 100)
    .padStart(2, '0')
    .replace(/0+$/, '')
  return `${whole}${rest ? (locale === 'fr' ? ',' : '.') + rest : ''} %`
}

/**
 * Splits a VAT-inclusive total into net and VAT, rounding half away from zero on integers.
 * net = round(gross * 10000 / (10000 + rate)); vat = gross - net, so net + vat == gross exactly.
 */
export function splitVat(gross: number, basisPoints: number): { net: number; vat: number } {
  const divisor = 10_000n + BigInt(basisPoints)
  const scaled = BigInt(Math.abs(gross)) * 10_000n
  const rounded = (scaled * 2n + divisor) / (divisor * 2n)
  const net = Number(rounded) * Math.sign(gross) || 0
  return { net, vat: gross - net }
}
