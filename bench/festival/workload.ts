// The festival's card traffic, deterministic from a seed: tag cards that are topped up in cash and spent at
// the bar. The same generator writes the 200,000 pre-existing records (template) and the live sales of each
// till, so both are records the ledger accepts (card chains continue, balances stay within floor and ceiling).
import {
  type CardId,
  type Hash,
  type RecordBody,
  seededRandom,
  tagCardId,
  ZERO_HASH,
} from '../../ledger/mod.ts'

/** mulberry32 (ledger seededRandom): the same seed gives the same festival. */
export const prng = seededRandom

/** Card number n as a 7-byte-UID tag card. */
export function festivalCard(n: number): CardId {
  const uid = new Uint8Array(7)
  uid[0] = 0x04 // NXP manufacturer byte, as on a real NTAG215
  new DataView(uid.buffer).setUint32(3, n)
  return tagCardId(uid)
}

/** What a till needs to know of a card to write its next record. */
export interface CardPosition {
  card: CardId
  /** cardSeq of the card's last record (0 = none yet). */
  seq: number
  head: Hash
  /** EUR cents on the card. */
  balance: number
}

export const freshCard = (n: number): CardPosition => ({
  card: festivalCard(n),
  seq: 0,
  head: ZERO_HASH,
  balance: 0,
})

const PRODUCTS = [
  { product: 'beer', unitPrice: 450 },
  { product: 'cider', unitPrice: 400 },
  { product: 'soft', unitPrice: 250 },
  { product: 'crepe', unitPrice: 350 },
  { product: 'cup-deposit', unitPrice: 100 },
] as const

/** Cash top-up amount; stays far below the tag card offline ceiling (15,000) from the federation policy. */
const TOP_UP = 2000

/** The next record on this card: a cash top-up when it runs low, otherwise a bar sale paid by card. */
export function nextCardRecord(pos: CardPosition, random: () => number): RecordBody {
  const chain = { card: pos.card, cardSeq: pos.seq + 1, cardPrev: pos.head }
  const lines = []
  let total = 0
  const n = 1 + Math.floor(random() * 3)
  for (let i = 0; i < n; i++) {
    const p = PRODUCTS[Math.floor(random() * PRODUCTS.length)]!
    if (total + p.unitPrice > pos.balance) break
    lines.push({ product: p.product, quantity: 1, unitPrice: p.unitPrice, asset: 'EUR', vatRate: 2000 })
    total += p.unitPrice
  }
  if (lines.length === 0) {
    return { kind: 'top-up', chain, asset: 'EUR', amount: TOP_UP, method: 'cash' } as RecordBody
  }
  return {
    kind: 'sale',
    chain,
    lines,
    payments: [{ method: 'card', asset: 'EUR', amount: total }],
  } as RecordBody
}

/** The card position after a record written by nextCardRecord. */
export function advance(pos: CardPosition, body: RecordBody, hash: Hash): CardPosition {
  const b = body as { kind: string; amount?: number; payments?: Array<{ amount: number }> }
  const delta = b.kind === 'top-up' ? b.amount! : -(b.payments ?? []).reduce((s, p) => s + p.amount, 0)
  return { card: pos.card, seq: pos.seq + 1, head: hash, balance: pos.balance + delta }
}
