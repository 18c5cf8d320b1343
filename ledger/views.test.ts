// Derived views: memberships, tickets, close-outs, device gaps, card links, next chain position.
import { describe, expect, it } from 'vitest'
import { FIXTURE_TIME, LedgerIndex, toHex } from './mod.ts'
import { makeKit } from './test-kit.ts'

describe('views', () => {
  it('membership validity with skew tolerance', async () => {
    const kit = await makeKit('views-member')
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    const card = kit.fx.tagCards[0]!
    const day = 86_400_000
    const m = await w.append({
      kind: 'membership-grant',
      card,
      plan: 'year',
      validFrom: FIXTURE_TIME,
      validUntil: FIXTURE_TIME + 365 * day,
    })
    await kit.ingest(m)
    expect(kit.index.isMember(card, FIXTURE_TIME + 10 * day)).toBe(true)
    expect(kit.index.isMember(card, FIXTURE_TIME + 10 * day, { plan: 'month' })).toBe(false)
    expect(kit.index.isMember(card, FIXTURE_TIME + 366 * day)).toBe(false)
    expect(kit.index.isMember(card, FIXTURE_TIME - 60_000)).toBe(true) // within the 5 min skew
    expect(kit.index.isMember(kit.fx.tagCards[1]!, FIXTURE_TIME)).toBe(false)
    expect(kit.index.memberships(card)).toMatchObject([{ plan: 'year', hash: toHex(m.hash) }])
  })

  it('tickets: issued, checked in, double check-in flagged, check-in before issue', async () => {
    const kit = await makeKit('views-ticket')
    const cafe = kit.fx.venues[0]!
    const till = kit.fx.writer(cafe.cashier)
    const door1 = kit.fx.writer(cafe.door)
    const door2 = kit.fx.writer(kit.fx.venues[1]!.door)
    const issue = await till.append({
      kind: 'ticket-issue',
      ticket: 'T-1',
      event: 'concert',
      ticketType: 'standard',
      card: new Uint8Array(0),
      validUntil: FIXTURE_TIME + 1e9,
    })
    const c1 = await door1.append({ kind: 'check-in', ticket: 'T-1' })
    await kit.ingest(c1)
    expect(kit.index.ticketState('T-1').state).toBe('unknown') // the check-in arrived first
    await kit.ingest(issue)
    expect(kit.index.ticketState('T-1')).toMatchObject({ state: 'checked-in', conflict: false })
    await kit.ingest(await door2.append({ kind: 'check-in', ticket: 'T-1' }))
    expect(kit.index.ticketState('T-1')).toMatchObject({ state: 'checked-in', conflict: true })
    expect(kit.index.ticketState('T-2').state).toBe('unknown')
  })

  it('till close-out: expected cash from the drawer since the previous close-out', async () => {
    const kit = await makeKit('views-closeout')
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    const r1 = await kit.topUp(w, kit.fx.tagCards[0]!, 2000) // cash in
    const s1 = await w.append({
      kind: 'sale',
      chain: null,
      lines: [{ product: 'tea', quantity: 1, unitPrice: 250, asset: 'EUR', vatRate: 550 }],
      payments: [{ method: 'cash', asset: 'EUR', amount: 250 }],
    })
    const refund = await w.append({
      kind: 'refund',
      chain: kit.chain(kit.fx.tagCards[0]!),
      asset: 'EUR',
      amount: 500,
      method: 'cash',
    })
    const z1 = await w.append({ kind: 'till-close-out', counted: [{ asset: 'EUR', amount: 1740 }] })
    const s2 = await w.append({
      kind: 'sale',
      chain: null,
      lines: [{ product: 'tea', quantity: 2, unitPrice: 250, asset: 'EUR', vatRate: 550 }],
      payments: [{ method: 'bankcard', asset: 'EUR', amount: 500 }],
    })
    const z2 = await w.append({ kind: 'till-close-out', counted: [] })
    await kit.ingest(z2, s2, z1, refund, s1, r1)
    const outs = kit.index.closeOuts(kit.fx.venues[0]!.cashier.key.publicKey)
    expect(outs).toHaveLength(2)
    expect(outs[0]).toMatchObject({
      expected: [{ asset: 'EUR', amount: 1750 }],
      counted: [{ asset: 'EUR', amount: 1740 }],
    })
    expect(outs[1]!.expected).toEqual([]) // the second shift took only a bank card
  })

  it('device gaps: a missing record keeps its successors pending and is reported', async () => {
    const kit = await makeKit('views-gaps')
    const w = kit.fx.writer(kit.fx.venues[0]!.door)
    const recs = []
    for (let i = 0; i < 6; i++) recs.push(await w.append({ kind: 'check-in', ticket: `T${i}` }))
    await kit.ingest(recs[0]!, recs[4]!, recs[5]!)
    expect(kit.index.deviceGaps()).toEqual([
      { device: toHex(kit.fx.venues[0]!.door.key.publicKey), from: 2, to: 4 },
    ])
    expect(kit.index.pending()).toHaveLength(2)
    await kit.ingest(recs[3]!, recs[1]!)
    expect(kit.index.deviceGaps()).toEqual([
      { device: toHex(kit.fx.venues[0]!.door.key.publicKey), from: 3, to: 3 },
    ])
    await kit.ingest(recs[2]!)
    expect(kit.index.deviceGaps()).toEqual([])
    expect(kit.index.counts()).toMatchObject({ valid: 6, pending: 0 })
  })

  it('card links keep the encrypted payload; next chain position follows the head', async () => {
    const kit = await makeKit('views-link')
    const cafe = kit.fx.venues[0]!
    const w = kit.fx.writer(cafe.cashier)
    const card = kit.fx.tagCards[0]!
    const payload = new Uint8Array([1, 2, 3, 4])
    await kit.ingest(await w.append({ kind: 'card-link', card, venue: cafe.key.publicKey, payload }))
    expect(kit.index.cardLinks(card)).toMatchObject([{ venue: toHex(cafe.key.publicKey), payload }])
    expect(kit.index.nextChainPosition(card)).toMatchObject({ cardSeq: 1 })
    const t = await kit.topUp(w, card, 100)
    await kit.ingest(t)
    expect(kit.index.nextChainPosition(card)).toMatchObject({
      cardSeq: 2,
      cardPrev: t.hash,
      balances: [{ asset: 'EUR', amount: 100 }],
    })
  })

  it('trust accessors: assets, staff cards, policy, venues', async () => {
    const kit = await makeKit('views-accessors')
    const cafe = kit.fx.venues[0]!
    expect(kit.index.assetDefinitions().map((a) => a.asset)).toContain(cafe.assets.gift)
    expect(kit.index.isStaffCard(cafe.key.publicKey, cafe.staffCard)).toBe(true)
    expect(kit.index.isStaffCard(kit.fx.venues[1]!.key.publicKey, cafe.staffCard)).toBe(false)
    expect(kit.index.policy()?.offlineCeiling.tag).toBe(kit.fx.offlineCeiling.tag)
    expect(
      kit.index
        .venues()
        .map((v) => v.name)
        .sort(),
    ).toEqual(['cafe', 'fest'])
  })

  it('statements in any order: certificates wait for the venue admission', async () => {
    const kit = await makeKit('views-trust')
    const fresh = new LedgerIndex({ federation: kit.fx.federation.publicKey })
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    const r = await kit.topUp(w, kit.fx.tagCards[0]!, 100)
    expect((await fresh.ingest(r.bytes)).status).toBe('pending')
    const [admission, ...others] = [
      kit.fx.venues[0]!.admission,
      ...kit.fx.statements.filter((s) => s !== kit.fx.venues[0]!.admission),
    ]
    const res = await fresh.ingestMany(others)
    expect(res.some((x) => x.status === 'pending' && x.waitingFor === 'issuer-not-authorised')).toBe(true)
    expect(fresh.balance(kit.fx.tagCards[0]!, 'EUR')).toBe(0)
    await fresh.ingest(admission!)
    expect(fresh.balance(kit.fx.tagCards[0]!, 'EUR')).toBe(100)
  })
})
