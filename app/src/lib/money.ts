// Money is integers in minor units; formatting is the only place decimals appear.
import type { AssetView } from '../../shared/protocol.ts'

// One formatter per locale and scale: toLocaleString with options builds a new Intl.NumberFormat at every
// call, which was the till's costliest function per click on a throttled tablet (bench ui).
const formats = new Map<string, Intl.NumberFormat>()

function numberFormat(locale: string, decimals: number): Intl.NumberFormat {
  const key = `${locale}/${decimals}`
  let format = formats.get(key)
  if (!format) {
    format = new Intl.NumberFormat(locale, {
      minimumFractionDigits: decimals,
      maximumFractionDigits: decimals,
    })
    formats.set(key, format)
  }
  return format
}

export function formatAmount(amount: number, asset: AssetView | undefined, locale: string): string {
  const decimals = asset?.decimals ?? 2
  const value = numberFormat(locale, decimals).format(amount / 10 ** decimals)
  return `${value} ${asset?.symbol ?? ''}`.trim()
}

/** Parses "12,50" or "12.50" into minor units without going through floats; undefined when invalid. */
export function parseAmount(text: string, decimals: number): number | undefined {
  const m = /^\s*(\d{1,7})(?:[.,](\d*))?\s*$/.exec(text)
  if (!m) return undefined
  const frac = (m[2] ?? '').padEnd(decimals, '0')
  if (frac.length > decimals) return undefined
  return Number(m[1]) * 10 ** decimals + (decimals ? Number(frac) : 0)
}
