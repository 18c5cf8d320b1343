// Stateless rules: everything that can be decided from the record alone (the index adds the rules
// that need the valid history: certificates, chains, balances). Each failure names its rule.
import { bytesEqual, ZERO_HASH } from './bytes.ts'
import { cardKindOf } from './codec.ts'
import { LedgerRuleError, type Rule } from './errors.ts'
import { chainPositions, MAX_CARD_SEQ } from './sign.ts'
import type { AssetAmount, ChainPosition, LedgerRecord, RecordKind, Role } from './types.ts'

/** Which device roles may sign which record kind. */
export const ROLES_FOR_KIND: Record<RecordKind, readonly Role[]> = {
  'top-up': ['cashier', 'admin'],
  sale: ['cashier', 'admin'],
  refund: ['cashier', 'admin'],
  transfer: ['cashier', 'admin'],
  void: ['cashier', 'admin'],
  'membership-grant': ['cashier', 'admin'],
  'ticket-issue': ['cashier', 'admin'],
  'check-in': ['door', 'cashier', 'admin'],
  'card-link': ['cashier', 'admin'],
  'card-replace': ['cashier', 'admin'],
  checkpoint: ['admin', 'relay'],
  'till-close-out': ['cashier', 'admin'],
}

function fail(rule: Rule, detail: string): never {
  throw new LedgerRuleError(rule, detail)
}

function safe(n: number, what: string): void {
  if (!Number.isSafeInteger(n)) fail('amount', `${what} is not a safe integer`)
}
function positive(n: number, what: string): void {
  safe(n, what)
  if (n <= 0) fail('amount', `${what} must be positive, got ${n}`)
}

function checkChain(c: ChainPosition): void {
  if (!Number.isSafeInteger(c.cardSeq) || c.cardSeq < 1 || c.cardSeq > MAX_CARD_SEQ)
    fail('card-counter', `cardSeq ${c.cardSeq} outside 1..${MAX_CARD_SEQ}`)
  const zero = bytesEqual(c.cardPrev, ZERO_HASH)
  if (c.cardSeq === 1 && !zero) fail('card-chain', 'cardSeq 1 must have a zero cardPrev')
  if (c.cardSeq > 1 && zero) fail('card-chain', `cardSeq ${c.cardSeq} needs its predecessor hash`)
}

function distinctAssets(list: AssetAmount[], what: string): void {
  const seen = new Set<string>()
  for (const a of list) {
    if (seen.has(a.asset)) fail('amount', `${what}: asset ${a.asset} listed twice`)
    seen.add(a.asset)
  }
}

/** Per-asset sums of a sale's lines and payments (throws 'amount' on unsafe totals). */
function add(m: Map<string, number>, k: string, v: number, what: string): void {
  const s = (m.get(k) ?? 0) + v
  safe(s, what)
  m.set(k, s)
}

export function saleTotals(rec: Extract<LedgerRecord, { kind: 'sale' }>): {
  lines: Map<string, number>
  payments: Map<string, number>
  card: Map<string, number>
} {
  const lines = new Map<string, number>()
  const payments = new Map<string, number>()
  const card = new Map<string, number>()
  for (const l of rec.lines) {
    safe(l.quantity, 'quantity')
    safe(l.unitPrice, 'unit price')
    if (l.quantity === 0) fail('amount', `line ${l.product}: zero quantity`)
    if (l.vatRate > 10_000) fail('amount', `line ${l.product}: VAT rate ${l.vatRate} bp above 100 %`)
    add(lines, l.asset, l.quantity * l.unitPrice, 'line total')
  }
  for (const p of rec.payments) {
    safe(p.amount, 'payment')
    if (p.amount === 0) fail('amount', 'zero payment')
    add(payments, p.asset, p.amount, 'payment total')
    if (p.method === 'card') add(card, p.asset, p.amount, 'card payment total')
  }
  return { lines, payments, card }
}

/** A one-asset sale's totals (see oneAssetSaleTotals). */
export interface OneAssetSaleTotals {
  asset: string
  lines: number
  payments: number
  /** Sum of the card payments; `byCard` tells whether there is any. */
  card: number
  byCard: boolean
}

/**
 * saleTotals of a sale whose lines and payments all name one asset (the usual sale), as numbers: the
 * same checks in the same order, without three maps per call. null when it names several assets.
 */
export function oneAssetSaleTotals(rec: Extract<LedgerRecord, { kind: 'sale' }>): OneAssetSaleTotals | null {
  const asset = rec.lines[0]?.asset ?? rec.payments[0]?.asset
  if (asset === undefined) return null
  for (const l of rec.lines) if (l.asset !== asset) return null
  for (const p of rec.payments) if (p.asset !== asset) return null
  let lines = 0
  for (const l of rec.lines) {
    safe(l.quantity, 'quantity')
    safe(l.unitPrice, 'unit price')
    if (l.quantity === 0) fail('amount', `line ${l.product}: zero quantity`)
    if (l.vatRate > 10_000) fail('amount', `line ${l.product}: VAT rate ${l.vatRate} bp above 100 %`)
    lines += l.quantity * l.unitPrice
    safe(lines, 'line total')
  }
  let payments = 0
  let card = 0
  let byCard = false
  for (const p of rec.payments) {
    safe(p.amount, 'payment')
    if (p.amount === 0) fail('amount', 'zero payment')
    payments += p.amount
    safe(payments, 'payment total')
    if (p.method === 'card') {
      card += p.amount
      byCard = true
      safe(card, 'card payment total')
    }
  }
  return { asset, lines, payments, card, byCard }
}

/** Rules decided by the record alone. Throws LedgerRuleError naming the rule. */
export function checkRecordShape(rec: LedgerRecord): void {
  if (!Number.isSafeInteger(rec.deviceSeq) || rec.deviceSeq < 1) fail('device-chain', 'deviceSeq starts at 1')
  const zeroPrev = bytesEqual(rec.devicePrev, ZERO_HASH)
  if (rec.deviceSeq === 1 && !zeroPrev) fail('device-chain', 'deviceSeq 1 must have a zero devicePrev')
  if (rec.deviceSeq > 1 && zeroPrev)
    fail('device-chain', `deviceSeq ${rec.deviceSeq} needs its predecessor hash`)
  const chains = chainPositions(rec)
  for (const c of chains) checkChain(c)
  if (chains.length === 2 && bytesEqual(chains[0]!.card, chains[1]!.card))
    fail('card-chain', 'a record cannot hold two positions in the same card chain')

  switch (rec.kind) {
    case 'top-up':
      positive(rec.amount, 'top-up amount')
      break
    case 'refund':
      positive(rec.amount, 'refund amount')
      break
    case 'transfer':
      positive(rec.amount, 'transfer amount')
      if (cardKindOf(rec.chain.card) !== 'signing')
        fail('card-kind', 'only a signing card can send a transfer (it signs it)')
      break
    case 'sale': {
      if (rec.lines.length === 0) fail('sale-balance', 'a sale has at least one line')
      const one = oneAssetSaleTotals(rec)
      if (one) {
        if (one.lines !== one.payments)
          fail('sale-balance', `${one.asset}: lines ${one.lines} != payments ${one.payments}`)
        if (one.byCard && !rec.chain) fail('payment', 'a card payment needs the card chain position')
        if (!one.byCard && rec.chain) fail('payment', 'a card chain position without a card payment')
        break
      }
      const t = saleTotals(rec)
      for (const asset of new Set([...t.lines.keys(), ...t.payments.keys()]))
        if ((t.lines.get(asset) ?? 0) !== (t.payments.get(asset) ?? 0))
          fail(
            'sale-balance',
            `${asset}: lines ${t.lines.get(asset) ?? 0} != payments ${t.payments.get(asset) ?? 0}`,
          )
      if (t.card.size > 0 && !rec.chain) fail('payment', 'a card payment needs the card chain position')
      if (t.card.size === 0 && rec.chain) fail('payment', 'a card chain position without a card payment')
      break
    }
    case 'card-replace':
      if (bytesEqual(rec.lostCard, rec.chain.card)) fail('replace', 'a card cannot replace itself')
      if (!Number.isSafeInteger(rec.lostCardSeq) || rec.lostCardSeq < 0 || rec.lostCardSeq > MAX_CARD_SEQ)
        fail('replace', 'lostCardSeq out of range')
      if ((rec.lostCardSeq === 0) !== bytesEqual(rec.lostHead, ZERO_HASH))
        fail('replace', 'lostHead is zero exactly when lostCardSeq is 0')
      distinctAssets(rec.moved, 'moved')
      for (const m of rec.moved) positive(m.amount, `moved ${m.asset}`)
      break
    case 'membership-grant':
      if (rec.validUntil <= rec.validFrom) fail('validity', 'membership validUntil must be after validFrom')
      break
    case 'ticket-issue':
      if (rec.ticket.length === 0) fail('validity', 'empty ticket id')
      if (rec.validUntil === 0) fail('validity', 'ticket without validUntil')
      break
    case 'till-close-out':
      distinctAssets(rec.counted, 'counted')
      for (const c of rec.counted) {
        safe(c.amount, 'counted cash')
        if (c.amount < 0) fail('amount', 'counted cash is never negative')
      }
      break
    case 'checkpoint':
      for (const c of rec.cards) for (const b of c.balances) safe(b.amount, 'checkpoint balance')
      break
    default:
      break
  }
}

/** Every asset id a record names (the index waits for their definitions). */
export function assetsOf(rec: LedgerRecord): string[] {
  switch (rec.kind) {
    case 'top-up':
    case 'refund':
    case 'transfer':
      return [rec.asset]
    case 'sale':
      return [...new Set([...rec.lines.map((l) => l.asset), ...rec.payments.map((p) => p.asset)])]
    case 'card-replace':
      return rec.moved.map((m) => m.asset)
    case 'till-close-out':
      return rec.counted.map((c) => c.asset)
    default:
      return []
  }
}
