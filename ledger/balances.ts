// Path balances stored per card-chain record: a small immutable flat array [asset, amount, ...] sorted
// by asset. Compact (one array per record) and safe for any asset id (no object keys).
import type { AssetAmount } from './types.ts'

export type Balances = readonly (string | number)[]
export const EMPTY_BALANCES: Balances = Object.freeze([])

export function balanceOf(b: Balances, asset: string): number {
  for (let i = 0; i < b.length; i += 2) if (b[i] === asset) return b[i + 1] as number
  return 0
}

export function withDelta(b: Balances, asset: string, delta: number): Balances {
  const out: (string | number)[] = []
  let done = false
  for (let i = 0; i < b.length; i += 2) {
    const a = b[i] as string
    if (!done && a === asset) {
      out.push(a, (b[i + 1] as number) + delta)
      done = true
    } else {
      if (!done && a > asset) {
        out.push(asset, delta)
        done = true
      }
      out.push(a, b[i + 1] as number)
    }
  }
  if (!done) out.push(asset, delta)
  return out
}

export function toAmounts(b: Balances): AssetAmount[] {
  const out: AssetAmount[] = []
  for (let i = 0; i < b.length; i += 2) out.push({ asset: b[i] as string, amount: b[i + 1] as number })
  return out
}

export function fromAmounts(list: AssetAmount[]): Balances {
  let b: Balances = EMPTY_BALANCES
  for (const a of list) b = withDelta(b, a.asset, a.amount)
  return b
}
