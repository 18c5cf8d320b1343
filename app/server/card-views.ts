// Per-card state derived from valid records in card-chain order: balances, head, freeze. A record whose
// cardPrev is not the card's current head is a fork (two branches): the card freezes and both branches
// count (the card may go negative), as DESIGN.md asks. Deterministic for any arrival order of a chain.
import { bytesEqual, toHex, ZERO_HASH } from '../../ledger/bytes.ts'
import type { CardId, ChainPosition, LedgerRecord } from '../../ledger/types.ts'
import type { CardState } from './ledger-backend.ts'

/** Balance deltas a record applies to each card it touches. */
export function cardDeltas(record: LedgerRecord, saleOf: (hashHex: string) => LedgerRecord | undefined) {
  const out: { pos: ChainPosition; deltas: [string, number][] }[] = []
  switch (record.kind) {
    case 'top-up':
      out.push({ pos: record.chain, deltas: [[record.asset, record.amount]] })
      break
    case 'refund':
      out.push({ pos: record.chain, deltas: [[record.asset, -record.amount]] })
      break
    case 'sale':
      if (record.chain)
        out.push({
          pos: record.chain,
          deltas: record.payments.filter((p) => p.method === 'card').map((p) => [p.asset, -p.amount]),
        })
      break
    case 'void': {
      const target = saleOf(toHex(record.target))
      if (record.chain && target?.kind === 'sale')
        out.push({
          pos: record.chain,
          deltas: target.payments.filter((p) => p.method === 'card').map((p) => [p.asset, p.amount]),
        })
      break
    }
    case 'transfer':
      out.push({ pos: record.chain, deltas: [[record.asset, -record.amount]] })
      out.push({ pos: record.to, deltas: [[record.asset, record.amount]] })
      break
    case 'card-replace':
      out.push({ pos: record.chain, deltas: record.moved.map((m) => [m.asset, m.amount]) })
      break
    default:
      break
  }
  return out
}

export class CardViews {
  private readonly cards = new Map<string, CardState & { seqs: Map<number, string> }>()
  private readonly byHash = new Map<string, LedgerRecord>()

  /** Applies one valid record (callers feed each record once). */
  apply(hashHex: string, record: LedgerRecord): void {
    this.byHash.set(hashHex, record)
    for (const { pos, deltas } of cardDeltas(record, (h) => this.byHash.get(h))) {
      const state = this.state(pos.card)
      const known = state.seqs.get(pos.cardSeq)
      if (known !== undefined && known !== hashHex) state.frozen = 'fork'
      else if (pos.cardSeq > state.cardSeq) {
        if (state.cardSeq > 0 && pos.cardSeq === state.cardSeq + 1 && !bytesEqual(pos.cardPrev, state.head))
          state.frozen = 'fork'
        state.cardSeq = pos.cardSeq
        state.head = hexBytes(hashHex)
      }
      state.seqs.set(pos.cardSeq, hashHex)
      for (const [asset, delta] of deltas) state.balances.set(asset, (state.balances.get(asset) ?? 0) + delta)
    }
    if (record.kind === 'card-replace') {
      const lost = this.state(record.lostCard)
      lost.frozen = 'lost'
      for (const m of record.moved) lost.balances.set(m.asset, (lost.balances.get(m.asset) ?? 0) - m.amount)
    }
  }

  card(card: CardId): CardState {
    const s = this.cards.get(toHex(card))
    if (!s) return { cardSeq: 0, head: ZERO_HASH, balances: new Map() }
    return {
      cardSeq: s.cardSeq,
      head: s.head,
      balances: new Map(s.balances),
      ...(s.frozen ? { frozen: s.frozen } : {}),
    }
  }

  private state(card: CardId) {
    const key = toHex(card)
    let s = this.cards.get(key)
    if (!s) {
      s = { cardSeq: 0, head: ZERO_HASH, balances: new Map(), seqs: new Map() }
      this.cards.set(key, s)
    }
    return s
  }
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}
