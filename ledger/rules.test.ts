// One test per validation rule, including every rejection path.
import { beforeEach, describe, expect, it } from 'vitest'
import { ZERO_HASH } from './bytes.ts'
import { encodeSigned } from './codec.ts'
import {
  type ChainPosition,
  DeviceChainWriter,
  EmulatedSigningCard,
  encodeRecordUnsigned,
  keyPairFromLabel,
  LedgerIndex,
  LedgerRuleError,
  type Rule,
  signRecord,
  signStatement,
  tagCardId,
} from './mod.ts'
import { type Kit, makeKit } from './test-kit.ts'

let kit: Kit
beforeEach(async () => {
  kit = await makeKit('rules')
})

function expectRejected(result: { status: string; error?: Error } | undefined, rule: Rule) {
  expect(result?.status).toBe('rejected')
  expect(result?.error).toBeInstanceOf(LedgerRuleError)
  expect((result?.error as LedgerRuleError | undefined)?.rule).toBe(rule)
}

const euroSale = (amount: number) => ({
  lines: [{ product: 'coffee', quantity: 1, unitPrice: amount, asset: 'EUR', vatRate: 550 }],
  payments: [{ method: 'card' as const, asset: 'EUR', amount }],
})

describe('signatures', () => {
  it('signature: a flipped bit in the device signature', async () => {
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    const r = await kit.topUp(w, kit.fx.tagCards[0]!, 100)
    const bytes = r.bytes.slice()
    bytes[bytes.length - 1]! ^= 1
    expectRejected(await kit.index.ingest(bytes), 'signature')
    expect(kit.index.rejected()).toHaveLength(1)
  })
  it('signature: tampered amount (the hash changes, the signature no longer matches)', async () => {
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    const r = await kit.topUp(w, kit.fx.tagCards[0]!, 100)
    const forged = encodeSigned(encodeRecordUnsigned({ ...r.record, amount: 10_000 } as typeof r.record), [
      r.bytes.subarray(r.bytes.length - 64),
    ])
    expectRejected(await kit.index.ingest(forged), 'signature')
    expect(kit.index.balance(kit.fx.tagCards[0]!, 'EUR')).toBe(0)
  })
  it('card-signature: a transfer whose card signature is from another card', async () => {
    const [a, b] = kit.fx.signingCards
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    await kit.ingest(await kit.topUp(w, a!.card, 500))
    const impostor = new EmulatedSigningCard(await keyPairFromLabel('impostor'))
    const fake = { card: a!.card, signCardRecord: impostor.signCardRecord.bind(impostor) }
    const t = await w.append(
      { kind: 'transfer', chain: kit.chain(a!.card), to: kit.chain(b!.card), asset: 'EUR', amount: 100 },
      [fake, b!],
    )
    expectRejected((await kit.ingest(t))[0], 'card-signature')
  })
  it('card-counter: the emulated signing card refuses a cardSeq not above its counter', async () => {
    const card = kit.fx.signingCards[0]!
    await card.signCardRecord(5, ZERO_HASH)
    await expect(card.signCardRecord(5, ZERO_HASH)).rejects.toMatchObject({ rule: 'card-counter' })
  })
})

describe('identities', () => {
  it('issuer-not-authorised: a venue admission not signed by the federation stays inactive', async () => {
    const rogue = await keyPairFromLabel('rogue')
    const s = await signStatement(
      { kind: 'venue-admission', issuer: rogue.publicKey, time: 0, venue: rogue.publicKey, name: 'rogue' },
      rogue,
    )
    const r = await kit.index.ingest(s)
    expect(r).toMatchObject({ status: 'pending', waitingFor: 'issuer-not-authorised' })
  })
  it('device-not-certified: a record of an unknown device stays pending', async () => {
    const stranger = new DeviceChainWriter(await keyPairFromLabel('stranger'))
    const r = await kit.topUp(stranger, kit.fx.tagCards[0]!, 100)
    expect((await kit.ingest(r))[0]).toMatchObject({ status: 'pending', waitingFor: 'device-not-certified' })
    expect(kit.index.balance(kit.fx.tagCards[0]!, 'EUR')).toBe(0)
  })
  it('device-role: a door scanner cannot top up', async () => {
    const w = kit.fx.writer(kit.fx.venues[0]!.door)
    expectRejected((await kit.ingest(await kit.topUp(w, kit.fx.tagCards[0]!, 100)))[0], 'device-role')
  })
  it('device-validity: a record outside the certificate window', async () => {
    const venue = kit.fx.venues[0]!
    const key = await keyPairFromLabel('expired-till')
    await kit.index.ingest(
      await signStatement(
        {
          kind: 'device-certificate',
          issuer: venue.key.publicKey,
          time: 0,
          device: key.publicKey,
          roles: ['cashier'],
          notBefore: 1000,
          notAfter: 2000,
          label: 'old',
        },
        venue.key,
      ),
    )
    const w = new DeviceChainWriter(key, { clock: () => 5000 })
    expectRejected((await kit.ingest(await kit.topUp(w, kit.fx.tagCards[0]!, 100)))[0], 'device-validity')
  })
  it('device-revoked: records after the cutoff are rejected, also when the revocation arrives late', async () => {
    const venue = kit.fx.venues[0]!
    const w = kit.fx.writer(venue.cashier)
    const card = kit.fx.tagCards[0]!
    const r1 = await kit.topUp(w, card, 100)
    const r2 = await kit.topUp(w, card, 200)
    await kit.ingest(r1, r2)
    expect(kit.index.balance(card, 'EUR')).toBe(300)
    const revocation = await signStatement(
      {
        kind: 'device-revocation',
        issuer: venue.key.publicKey,
        time: 0,
        device: venue.cashier.key.publicKey,
        cutoffSeq: 1,
        reason: 'stolen',
      },
      venue.key,
    )
    await kit.index.ingest(revocation)
    expect(kit.index.status(r2.hash)).toBe('rejected')
    expect(kit.index.balance(card, 'EUR')).toBe(100)
    expect(kit.index.rejected()[0]!.error).toMatchObject({ rule: 'device-revoked' })
    expect(kit.index.checkInvariants().ok).toBe(true)
  })
  it('staff-not-certified: a record naming an unknown staff card waits', async () => {
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    w.staff = tagCardId(new Uint8Array([9, 9, 9, 9, 9, 9, 9]))
    const r = await kit.topUp(w, kit.fx.tagCards[0]!, 100)
    expect((await kit.ingest(r))[0]).toMatchObject({ status: 'pending', waitingFor: 'staff-not-certified' })
    w.staff = kit.fx.venues[0]!.staffCard
    // a certified staff card is accepted (new chain: the writer continues at deviceSeq 2 -> pending on 1)
    const other = kit.fx.writer(kit.fx.venues[0]!.admin)
    other.staff = kit.fx.venues[0]!.staffCard
    expect((await kit.ingest(await kit.topUp(other, kit.fx.tagCards[1]!, 100)))[0]!.status).toBe('valid')
  })
})

describe('chains', () => {
  it('device-chain: devicePrev pointing at another device record is rejected', async () => {
    const a = kit.fx.writer(kit.fx.venues[0]!.cashier)
    const b = kit.fx.writer(kit.fx.venues[0]!.admin)
    const ra = await kit.topUp(a, kit.fx.tagCards[0]!, 100)
    const rb = await kit.topUp(b, kit.fx.tagCards[1]!, 100)
    await kit.ingest(ra, rb)
    // b's second record claims a's record as its predecessor
    const bad = await signRecord(
      {
        kind: 'top-up',
        device: kit.fx.venues[0]!.admin.key.publicKey,
        deviceSeq: 2,
        devicePrev: ra.hash,
        time: 1,
        staff: new Uint8Array(0),
        chain: kit.chain(kit.fx.tagCards[2]!),
        asset: 'EUR',
        amount: 5,
        method: 'cash',
      },
      kit.fx.venues[0]!.admin.key,
    )
    expectRejected((await kit.ingest(bad))[0], 'device-chain')
  })
  it('device-chain: deviceSeq 1 with a non-zero devicePrev', async () => {
    const w = new DeviceChainWriter(kit.fx.venues[0]!.cashier.key, { head: new Uint8Array(32).fill(1) })
    // writer at seq 0 with a head: the first record has deviceSeq 1 and a non-zero prev
    expectRejected((await kit.ingest(await kit.topUp(w, kit.fx.tagCards[0]!, 1)))[0], 'device-chain')
  })
  it('card-chain: cardPrev pointing at another card record is rejected', async () => {
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    const r1 = await kit.topUp(w, kit.fx.tagCards[0]!, 100)
    const r2 = await w.append({
      kind: 'top-up',
      chain: { card: kit.fx.tagCards[1]!, cardSeq: 2, cardPrev: r1.hash },
      asset: 'EUR',
      amount: 100,
      method: 'cash',
    })
    const res = await kit.ingest(r1, r2)
    expectRejected(res[1], 'card-chain')
  })
  it('card-chain: a record after a rejected predecessor is rejected too', async () => {
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    const card = kit.fx.tagCards[0]!
    const bad = await w.append({
      kind: 'top-up',
      chain: kit.chain(card),
      asset: 'EUR',
      amount: 999_999,
      method: 'cash',
    })
    kit.advance(card, bad)
    const next = await kit.topUp(w, card, 1)
    const res = await kit.ingest(next, bad)
    expectRejected(res[1], 'offline-ceiling')
    expect(kit.index.status(next.hash)).toBe('rejected')
  })
  it('card-counter: a tag card cardSeq above 2^32-1', async () => {
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    const r = await w.append({
      kind: 'top-up',
      chain: { card: kit.fx.tagCards[0]!, cardSeq: 2 ** 32, cardPrev: new Uint8Array(32).fill(3) },
      asset: 'EUR',
      amount: 1,
      method: 'cash',
    })
    // waits for its predecessor first; a fabricated predecessor never arrives, so check shape directly
    expect((await kit.ingest(r))[0]!.status).toBe('pending')
    const { checkRecordShape } = await import('./validate.ts')
    expect(() => checkRecordShape(r.record)).toThrow(expect.objectContaining({ rule: 'card-counter' }))
  })
  it('card-kind: a tag card cannot send a transfer', async () => {
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    const tag = kit.fx.tagCards[0]!
    const r1 = await kit.topUp(w, tag, 100)
    const t = await w.append({
      kind: 'transfer',
      chain: kit.chain(tag),
      to: kit.chain(kit.fx.tagCards[1]!),
      asset: 'EUR',
      amount: 10,
    })
    expectRejected((await kit.ingest(r1, t))[1], 'card-kind')
  })
})

describe('amounts and assets', () => {
  it('amount: a negative top-up', async () => {
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    const r = await w.append({
      kind: 'top-up',
      chain: kit.chain(kit.fx.tagCards[0]!),
      asset: 'EUR',
      amount: -5,
      method: 'cash',
    })
    expectRejected((await kit.ingest(r))[0], 'amount')
  })
  it('amount: an unsafe integer cannot even be encoded', () => {
    expect(() =>
      encodeRecordUnsigned({
        kind: 'top-up',
        device: new Uint8Array(32),
        deviceSeq: 1,
        devicePrev: ZERO_HASH,
        time: 0,
        staff: new Uint8Array(0),
        chain: { card: kit.fx.tagCards[0]!, cardSeq: 1, cardPrev: ZERO_HASH },
        asset: 'EUR',
        amount: 2 ** 53,
        method: 'cash',
      }),
    ).toThrow(RangeError)
  })
  it('unknown-asset: waits for the definition, then applies', async () => {
    const venue = kit.fx.venues[0]!
    const w = kit.fx.writer(venue.cashier)
    const r = await kit.topUp(w, kit.fx.tagCards[0]!, 10, 'cafe.beans')
    expect((await kit.ingest(r))[0]).toMatchObject({ status: 'pending', waitingFor: 'unknown-asset' })
    await kit.index.ingest(
      await signStatement(
        {
          kind: 'asset-definition',
          issuer: venue.key.publicKey,
          time: 0,
          asset: 'cafe.beans',
          assetKind: 'local',
          decimals: 0,
          refundable: false,
          floor: 0,
          name: 'beans',
        },
        venue.key,
      ),
    )
    expect(kit.index.balance(kit.fx.tagCards[0]!, 'cafe.beans')).toBe(10)
  })
  it('asset-issuer: another venue cannot top up a venue asset; nobody mints euros for free', async () => {
    const [cafe, fest] = kit.fx.venues
    const w = kit.fx.writer(fest!.cashier)
    expectRejected(
      (await kit.ingest(await kit.topUp(w, kit.fx.tagCards[0]!, 10, cafe!.assets.gift)))[0],
      'asset-issuer',
    )
    const w2 = kit.fx.writer(cafe!.cashier)
    const free = await w2.append({
      kind: 'top-up',
      chain: kit.chain(kit.fx.tagCards[1]!),
      asset: 'EUR',
      amount: 10,
      method: 'free',
    })
    expectRejected((await kit.ingest(free))[0], 'asset-issuer')
    const gift = await w2.append({
      kind: 'top-up',
      chain: kit.chain(kit.fx.tagCards[2]!),
      asset: cafe!.assets.gift,
      amount: 3,
      method: 'free',
    })
    expect((await kit.ingest(gift))[0]!.status).toBe('valid')
  })
  it('floor: a card sale above the balance', async () => {
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    const card = kit.fx.tagCards[0]!
    const r1 = await kit.topUp(w, card, 300)
    const sale = await w.append({ kind: 'sale', chain: kit.chain(card), ...euroSale(301) })
    expectRejected((await kit.ingest(r1, sale))[1], 'floor')
    expect(kit.index.balance(card, 'EUR')).toBe(300)
  })
  it('offline-ceiling: a tag card top-up above the policy ceiling', async () => {
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    expectRejected((await kit.ingest(await kit.topUp(w, kit.fx.tagCards[0]!, 15_001)))[0], 'offline-ceiling')
    // the same amount fits a signing card's higher ceiling (and the till's chain goes on after a refusal)
    const card = kit.fx.signingCards[0]!.card
    expect((await kit.ingest(await kit.topUp(w, card, 15_001)))[0]!.status).toBe('valid')
    expect(kit.index.balance(card, 'EUR')).toBe(15_001)
  })
  it('offline-ceiling: a new policy applies from its time on, history is not re-judged', async () => {
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier) // fixture clock: FIXTURE_TIME + n
    const card = kit.fx.tagCards[0]!
    const before = await kit.topUp(w, card, 10_000)
    await kit.ingest(before)
    const { FIXTURE_TIME } = await import('./fixtures.ts')
    const fed = kit.fx.federation
    await kit.index.ingest(
      await signStatement(
        {
          kind: 'federation-policy',
          issuer: fed.publicKey,
          time: FIXTURE_TIME + 100,
          version: 2,
          offlineCeiling: { signing: 50_000, tag: 5_000 },
        },
        fed,
      ),
    )
    expect(kit.index.status(before.hash)).toBe('valid')
    expect(kit.index.balance(card, 'EUR')).toBe(10_000)
    const late = new DeviceChainWriter(kit.fx.venues[0]!.admin.key, { clock: () => FIXTURE_TIME + 1000 })
    expectRejected(
      (await kit.ingest(await kit.topUp(late, kit.fx.tagCards[1]!, 5_001)))[0],
      'offline-ceiling',
    )
  })
  it('sale-balance: lines that do not add up to the payments', async () => {
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    const sale = await w.append({
      kind: 'sale',
      chain: null,
      lines: [{ product: 'beer', quantity: 2, unitPrice: 300, asset: 'EUR', vatRate: 2000 }],
      payments: [{ method: 'cash', asset: 'EUR', amount: 500 }],
    })
    expectRejected((await kit.ingest(sale))[0], 'sale-balance')
  })
  it('sale with a deposit return line adds up and counts the net', async () => {
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    const sale = await w.append({
      kind: 'sale',
      chain: null,
      lines: [
        { product: 'beer', quantity: 2, unitPrice: 300, asset: 'EUR', vatRate: 2000 },
        { product: 'cup deposit', quantity: -1, unitPrice: 100, asset: 'EUR', vatRate: 0 },
      ],
      payments: [{ method: 'cash', asset: 'EUR', amount: 500 }],
    })
    expect((await kit.ingest(sale))[0]!.status).toBe('valid')
    expect(kit.index.takings(kit.fx.venues[0]!.key.publicKey)).toEqual([{ asset: 'EUR', amount: 500 }])
  })
  it('payment: cash in gift points, and a card payment without the card chain', async () => {
    const cafe = kit.fx.venues[0]!
    const w = kit.fx.writer(cafe.cashier)
    const cashGift = await w.append({
      kind: 'sale',
      chain: null,
      lines: [{ product: 'tea', quantity: 1, unitPrice: 1, asset: cafe.assets.gift, vatRate: 0 }],
      payments: [{ method: 'cash', asset: cafe.assets.gift, amount: 1 }],
    })
    expectRejected((await kit.ingest(cashGift))[0], 'payment')
    const noChain = await w.append({ kind: 'sale', chain: null, ...euroSale(100) })
    expectRejected((await kit.ingest(noChain))[0], 'payment')
  })
  it('refund: never above the refundable balance, never a non-refundable asset', async () => {
    const cafe = kit.fx.venues[0]!
    const w = kit.fx.writer(cafe.cashier)
    const card = kit.fx.tagCards[0]!
    const r1 = await kit.topUp(w, card, 500)
    const tooMuch = await w.append({
      kind: 'refund',
      chain: kit.chain(card),
      asset: 'EUR',
      amount: 501,
      method: 'cash',
    })
    expectRejected((await kit.ingest(r1, tooMuch))[1], 'refund')
    const g = await kit.topUp(kit.fx.writer(cafe.admin), kit.fx.tagCards[1]!, 5, 'GONETTE')
    const nonRefundable = await w.append({
      kind: 'refund',
      chain: kit.chain(kit.fx.tagCards[1]!),
      asset: 'GONETTE',
      amount: 1,
      method: 'cash',
    })
    expectRejected((await kit.ingest(g, nonRefundable))[1], 'refund')
    const ok = await w.append({
      kind: 'refund',
      chain: { ...(tooMuch.record as { chain: ChainPosition }).chain },
      asset: 'EUR',
      amount: 500,
      method: 'cash',
    })
    // same chain position as the rejected refund: accepted, the card is empty
    expect((await kit.ingest(ok))[0]!.status).toBe('valid')
    expect(kit.index.balance(card, 'EUR')).toBe(0)
  })
  it('void: only a sale, only by its own till, only once; restores the card', async () => {
    const cafe = kit.fx.venues[0]!
    const w = kit.fx.writer(cafe.cashier)
    const card = kit.fx.tagCards[0]!
    const top = await kit.topUp(w, card, 1000)
    const sale = await w.append({ kind: 'sale', chain: kit.chain(card), ...euroSale(400) })
    kit.advance(card, sale)
    await kit.ingest(top, sale)
    expect(kit.index.balance(card, 'EUR')).toBe(600)
    const notSale = await w.append({ kind: 'void', chain: kit.chain(card), target: top.hash, reason: 'x' })
    expectRejected((await kit.ingest(notSale))[0], 'void')
    const other = kit.fx.writer(cafe.admin)
    const foreign = await other.append({
      kind: 'void',
      chain: kit.chain(card),
      target: sale.hash,
      reason: 'x',
    })
    expectRejected((await kit.ingest(foreign))[0], 'void')
    const noChain = await w.append({ kind: 'void', chain: null, target: sale.hash, reason: 'x' })
    expectRejected((await kit.ingest(noChain))[0], 'void')
    // the rejected records above consumed deviceSeqs; a fresh till chain voids its own sale
    const w2 = kit.fx.writer(cafe.admin)
    const card2 = kit.fx.tagCards[1]!
    const t2 = await kit.topUp(w2, card2, 1000)
    const s2 = await w2.append({ kind: 'sale', chain: kit.chain(card2), ...euroSale(400) })
    kit.advance(card2, s2)
    const v1 = await w2.append({ kind: 'void', chain: kit.chain(card2), target: s2.hash, reason: 'mistake' })
    kit.advance(card2, v1)
    const v2 = await w2.append({ kind: 'void', chain: kit.chain(card2), target: s2.hash, reason: 'again' })
    const res = await kit.ingest(v2, v1, s2, t2)
    expect(res.map((r) => r.status)).toEqual(['rejected', 'valid', 'valid', 'valid'])
    expect(res[0]!.error).toMatchObject({ rule: 'void' })
    expect(kit.index.balance(card2, 'EUR')).toBe(1000)
    expect(kit.index.checkInvariants().ok).toBe(true)
  })
  it('replace: moves exactly the lost card balance at the named head', async () => {
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    const [lost, fresh, other] = kit.fx.tagCards
    const t = await kit.topUp(w, lost!, 700)
    const wrong = await w.append({
      kind: 'card-replace',
      lostCard: lost!,
      lostCardSeq: 1,
      lostHead: t.hash,
      chain: kit.chain(fresh!),
      moved: [{ asset: 'EUR', amount: 800 }],
    })
    expectRejected((await kit.ingest(t, wrong))[1], 'replace')
    const right = await w.append({
      kind: 'card-replace',
      lostCard: lost!,
      lostCardSeq: 1,
      lostHead: t.hash,
      chain: kit.chain(other!),
      moved: [{ asset: 'EUR', amount: 700 }],
    })
    expect((await kit.ingest(right))[0]!.status).toBe('valid')
    expect(kit.index.balance(other!, 'EUR')).toBe(700)
    expect(kit.index.balance(lost!, 'EUR')).toBe(0)
    expect(kit.index.card(lost!)!.frozen).toBe(true)
  })
  it('validity: a membership that ends before it starts', async () => {
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    const m = await w.append({
      kind: 'membership-grant',
      card: kit.fx.tagCards[0]!,
      plan: 'year',
      validFrom: 10,
      validUntil: 10,
    })
    expectRejected((await kit.ingest(m))[0], 'validity')
  })
  it('checkpoint: import only into a fresh index', async () => {
    const w = kit.fx.writer(kit.fx.venues[0]!.cashier)
    await kit.ingest(await kit.topUp(w, kit.fx.tagCards[0]!, 5))
    const cp = await kit.index.exportCheckpoint(kit.fx.writer(kit.fx.venues[0]!.relay))
    await expect(kit.index.importCheckpoint(cp.bytes)).rejects.toMatchObject({ rule: 'checkpoint' })
    const fresh = new LedgerIndex({ federation: kit.fx.federation.publicKey })
    await fresh.ingestMany(kit.fx.statements)
    const byCashier = await kit.index.exportCheckpoint(kit.fx.writer(kit.fx.venues[0]!.cashier))
    await expect(fresh.importCheckpoint(byCashier.bytes)).rejects.toMatchObject({ rule: 'device-role' })
  })
})
