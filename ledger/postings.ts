// Double entry: each valid record posts amounts to accounts that sum to zero per asset.
// Accounts: 'c:' + card key (member cards), 'v:' + venue key (takings), 'x:' + method (outside world).
import { keyOf } from './bytes.ts'
import type { CardId, LedgerRecord } from './types.ts'

export type Posting = [account: string, asset: string, delta: number]

// Account names are map keys on the ingest's hot path: a fresh `c:${key}` is a cons string that V8
// flattens and hashes at every lookup, a cached one carries its hash. Bounded (cleared when full).
const cardAccounts = new Map<string, string>()
const venueAccounts = new Map<string, string>()
const ACCOUNT_CACHE_MAX = 100_000

function cached(cache: Map<string, string>, prefix: string, key: string): string {
  let account = cache.get(key)
  if (account === undefined) {
    if (cache.size >= ACCOUNT_CACHE_MAX) cache.clear()
    account = prefix + key
    cache.set(key, account)
  }
  return account
}

// outside-world accounts ('x:cash', ...): made once, not a fresh string per posting
const outsideAccounts = new Map<string, string>()
function outside(method: string): string {
  let account = outsideAccounts.get(method)
  if (account === undefined) {
    account = `x:${method}`
    if (outsideAccounts.size < 64) outsideAccounts.set(method, account)
  }
  return account
}

function cardAccount(card: CardId): string {
  return cached(cardAccounts, 'c:', keyOf(card))
}

/** Postings of a valid record: each sums to zero per asset (double entry). */
export function recordPostings(rec: LedgerRecord, venueKey: string, target: LedgerRecord | null): Posting[] {
  const c = cardAccount
  const v = cached(venueAccounts, 'v:', venueKey)
  switch (rec.kind) {
    case 'top-up':
      return [
        [c(rec.chain.card), rec.asset, rec.amount],
        [outside(rec.method), rec.asset, -rec.amount],
      ]
    case 'sale': {
      const out: Posting[] = []
      for (const p of rec.payments) {
        out.push([p.method === 'card' ? c(rec.chain!.card) : outside(p.method), p.asset, -p.amount])
        out.push([v, p.asset, p.amount])
      }
      return out
    }
    case 'refund':
      return [
        [c(rec.chain.card), rec.asset, -rec.amount],
        [outside(rec.method), rec.asset, rec.amount],
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
