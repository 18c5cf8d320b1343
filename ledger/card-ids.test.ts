// cardIds(): every card the index knows, in snapshot() order, so a caller can walk the card views one at a
// time (the festival bench's digest) instead of building the whole snapshot.
import { describe, expect, it } from 'vitest'
import { toHex } from './mod.ts'
import { makeKit } from './test-kit.ts'

describe('cardIds', () => {
  it('lists every card with a view, in the order snapshot() lists them', async () => {
    const kit = await makeKit('card-ids')
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    expect(kit.index.cardIds()).toEqual([])
    for (const card of [kit.fx.tagCards[2]!, kit.fx.tagCards[0]!, kit.fx.tagCards[1]!])
      await kit.ingest(await kit.topUp(w, card, 500))
    const ids = kit.index.cardIds()
    expect(ids).toHaveLength(3)
    const snap = kit.index.snapshot() as { cards: Array<{ card: string }> }
    expect(ids.map(toHex)).toEqual(snap.cards.map((c) => c.card))
    expect(ids.map((id) => kit.index.card(id))).toEqual(snap.cards)
  })
})
