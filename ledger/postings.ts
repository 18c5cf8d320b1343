// Double entry: each valid record posts amounts to accounts that sum to zero per asset.
// Accounts: 'c:' + card key (member cards), 'v:' + venue key (takings), 'x:' + method (outside world).
import { keyOf } from './bytes.ts'
import type { CardId, LedgerRecord } from './types.ts'

export type Posting = [account: string, asset: string, delta: number]

/** Postings of a valid record: each sums to zero per asset (double entry). */
export function recordPostings(rec: LedgerRecord, venueKey: string, target: LedgerRecord | null): Posting[] {
  const c = (card: CardId) => `c:${keyOf(card)}`
  const v = `v:${venueKey}`
  switch (rec.kind) {
    case 'top-up':
      return [
        [c(rec.chain.card), rec.asset, rec.amount],
        [`x:${rec.method}`, rec.asset, -rec.amount],
      ]
    case 'sale': {
      const out: Posting[] = []
      for (const p of rec.payments) {
        out.push([p.method === 'card' ? c(rec.chain!.card) : `x:${p.method}`, p.asset, -p.amount])
        out.push([v, p.asset, p.amount])
      }
      return out
    }
    case 'refund':
      return [
        [c(rec.chain.card), rec.asset, -rec.amount],
        [`x:${rec.method}`, rec.asset, rec.amount],
      ]
    case 'transfer':
      return [
        [c(rec.chain.card), rec.asset, -rec.amount],
        [c(rec.to.card), rec.asset, rec.amount],
      ]
    case 'void':
      return target ? recordPostings(target, venueKey, null).map(([a, s, d]) => [a, s, -d] as Posting) : []
    case 'card-replace': {
      const out: Posting[] = []
      for (const m of rec.moved)
        out.push([c(rec.lostCard), m.asset, -m.amount], [c(rec.chain.card), m.asset, m.amount])
      return out
    }
    default:
      return []
  }
}
