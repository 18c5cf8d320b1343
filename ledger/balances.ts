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
  let at = -1
  for (let i = 0; i < b.length; i += 2) if (b[i] === asset) at = i
  if (at >= 0) {
    // exact-size copy (a push-grown array would reserve ~17 slots per stored balance)
    const out = b.slice()
    out[at + 1] = (b[at + 1] as number) + delta
    return out
  }
  let insert = b.length
  for (let i = 0; i < b.length; i += 2)
    if ((b[i] as string) > asset) {
      insert = i
      break
    }
  const out: (string | number)[] = new Array(b.length + 2)
  for (let i = 0; i < insert; i++) out[i] = b[i]!
  out[insert] = asset
  out[insert + 1] = delta
  for (let i = insert; i < b.length; i++) out[i + 2] = b[i]!
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
