// LedgerIndex.preflight: the verdict ingest would give a record, before any signature, without changing
// the index. Each record is signed (the ledger needs signed bytes to ingest it), preflighted on its
// unsigned content first, then ingested: both verdicts must agree.
import { beforeEach, describe, expect, it } from 'vitest'
import { ZERO_HASH } from './bytes.ts'
import { seededRandom as random } from './fixtures.ts'
import type { IngestResult } from './ledger-index.ts'
import {
  type CardId,
  type DeviceChainWriter,
  LedgerRuleError,
  type RecordBody,
  type SignedRecord,
} from './mod.ts'
import { type Kit, makeKit } from './test-kit.ts'

let kit: Kit
beforeEach(async () => {
  kit = await makeKit('preflight')
})

const euroSale = (amount: number) => ({
  lines: [{ product: 'coffee', quantity: 1, unitPrice: amount, asset: 'EUR', vatRate: 550 }],
  payments: [{ method: 'card' as const, asset: 'EUR', amount }],
})

/** A card-chained record body; `next` adds the chain position. */
type BodyWithoutChain = { kind: RecordBody['kind'] } & Record<string, unknown>

/** The rule ingest reports: a rejection's rule, a pending record's wait label, null when valid. */
function ingestVerdict(r: IngestResult): string | null {
  if (r.status === 'valid') return null
  if (r.status === 'rejected') return (r.error as LedgerRuleError).rule
  return r.waitingFor ?? r.status
}

/** Sign the next record of `w` at the card's current chain position (signing cards sign whatever seq). */
async function next(w: DeviceChainWriter, card: CardId, body: BodyWithoutChain): Promise<SignedRecord> {
  const chain = kit.index.nextChainPosition(card)!
  const signer = kit.fx.signingCards.find((s) => s.card === card)
  if (signer) signer.counter = chain.cardSeq - 1
  return w.append(
    { ...body, chain: { card, cardSeq: chain.cardSeq, cardPrev: chain.cardPrev } } as unknown as RecordBody,
    [...(signer ? [signer] : [])],
  )
}

/** preflight, then ingest: returns both verdicts (rule or null). */
async function both(r: SignedRecord): Promise<{ preflight: string | null; ingest: string | null }> {
  const error = kit.index.preflight(r.record)
  if (error) expect(error).toBeInstanceOf(LedgerRuleError)
  return { preflight: error?.rule ?? null, ingest: ingestVerdict(await kit.index.ingest(r.bytes)) }
}

describe('preflight gives the verdict ingest gives', () => {
  it('offline-ceiling: a signing card top-up above the ceiling', async () => {
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    const card = kit.fx.signingCards[0]!.card
    const over = await next(w, card, {
      kind: 'top-up',
      asset: 'EUR',
      amount: kit.fx.offlineCeiling.signing + 1,
      method: 'cash',
    })
    expect(await both(over)).toEqual({ preflight: 'offline-ceiling', ingest: 'offline-ceiling' })
    const atCeiling = await next(w, card, {
      kind: 'top-up',
      asset: 'EUR',
      amount: kit.fx.offlineCeiling.signing,
      method: 'cash',
    })
    expect(await both(atCeiling)).toEqual({ preflight: null, ingest: null })
  })
  it('floor: a card sale above the balance', async () => {
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    const card = kit.fx.tagCards[0]!
    expect(
      await both(await next(w, card, { kind: 'top-up', asset: 'EUR', amount: 300, method: 'cash' })),
    ).toEqual({
      preflight: null,
      ingest: null,
    })
    const sale = await next(w, card, { kind: 'sale', ...euroSale(301) })
    expect(await both(sale)).toEqual({ preflight: 'floor', ingest: 'floor' })
    expect(await both(await next(w, card, { kind: 'sale', ...euroSale(300) }))).toEqual({
      preflight: null,
      ingest: null,
    })
  })
  it('refund: above the refundable balance', async () => {
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    const card = kit.fx.signingCards[1]!.card
    await both(await next(w, card, { kind: 'top-up', asset: 'EUR', amount: 500, method: 'cash' }))
    const refund = await next(w, card, { kind: 'refund', asset: 'EUR', amount: 501, method: 'cash' })
    expect(await both(refund)).toEqual({ preflight: 'refund', ingest: 'refund' })
  })
  it('card-chain: a cardSeq that skips one', async () => {
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    const card = kit.fx.tagCards[1]!
    const first = await next(w, card, { kind: 'top-up', asset: 'EUR', amount: 100, method: 'cash' })
    await both(first)
    const skip = await w.append({
      kind: 'top-up',
      chain: { card, cardSeq: 3, cardPrev: first.hash },
      asset: 'EUR',
      amount: 1,
      method: 'cash',
    })
    expect(await both(skip)).toEqual({ preflight: 'card-chain', ingest: 'card-chain' })
  })
  it('unknown-asset: ingest keeps it pending, preflight refuses it with the same rule', async () => {
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    const r = await next(w, kit.fx.tagCards[2]!, { kind: 'top-up', asset: 'NOPE', amount: 1, method: 'cash' })
    expect(await both(r)).toEqual({ preflight: 'unknown-asset', ingest: 'unknown-asset' })
  })
  it('device-chain: a record whose devicePrev this index has not seen would wait: refused', async () => {
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    await w.append({
      kind: 'top-up',
      chain: { card: kit.fx.tagCards[0]!, cardSeq: 1, cardPrev: ZERO_HASH },
      asset: 'EUR',
      amount: 1,
      method: 'cash',
    })
    const second = await next(w, kit.fx.tagCards[1]!, {
      kind: 'top-up',
      asset: 'EUR',
      amount: 1,
      method: 'cash',
    })
    expect(kit.index.preflight(second.record)?.rule).toBe('device-chain')
  })
})

describe('preflight over random histories', () => {
  const SEED = 20261121
  it(`agrees with ingest and leaves the index unchanged (seed ${SEED})`, async () => {
    const rnd = random(SEED)
    const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!
    const cards = [...kit.fx.tagCards.slice(0, 3), ...kit.fx.signingCards.slice(0, 2).map((s) => s.card)]
    const writers = [kit.fx.writer(kit.fx.venues[0]!.cashier), kit.fx.writer(kit.fx.venues[1]!.cashier)]
    const verdicts = new Set<string>()
    for (let step = 0; step < 60; step++) {
      const w = pick(writers)
      const card = pick(cards)
      const amount = Math.floor(rnd() * 20_000) + 1
      const op = rnd()
      const body: BodyWithoutChain =
        op < 0.4
          ? { kind: 'top-up', asset: pick(['EUR', 'EUR', 'GONETTE']), amount, method: 'cash' }
          : op < 0.8
            ? { kind: 'sale', ...euroSale(Math.floor(amount / 4)) }
            : { kind: 'refund', asset: 'EUR', amount: Math.floor(amount / 4), method: 'cash' }
      const r = await next(w, card, body)
      const before = kit.index.exportSnapshot()
      const error = kit.index.preflight(r.record)
      const after = kit.index.exportSnapshot()
      const context = `seed ${SEED} step ${step} ${r.record.kind}`
      expect(after, `index changed by preflight (${context})`).toEqual(before)
      const ingest = ingestVerdict(await kit.index.ingest(r.bytes))
      expect(error?.rule ?? null, context).toBe(ingest)
      verdicts.add(String(ingest))
    }
    // the history exercised both outcomes and several refusals
    expect(verdicts.has('null')).toBe(true)
    expect(verdicts.size).toBeGreaterThanOrEqual(3)
  })
})
