// The service on the real venue node (sync/node: automerge-repo on disk, libp2p host) with the demo cards
// on hardware/sim: a signing card signs through its applet, a tag card carries its signed state, and
// everything survives a restart of the node.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CardTornError } from '../../hardware/cards/virtual-card.ts'
import { CatalogStore } from './catalog-store.ts'
import { demoIssuers, ensureDemoVenue, ensureTill } from './demo-setup.ts'
import { NodeLedgerBackend } from './node-backend.ts'
import { demoVirtualCards, SimulatedCardReader } from './sim-card-reader.ts'
import { VenueService } from './venue-service.ts'

let root: string
let tillDir: string
const cards = demoVirtualCards('node-backend-test')
const [staff, alex, sam, lou] = cards.map((c) => Buffer.from(c.card).toString('hex'))

async function start() {
  const backend = new NodeLedgerBackend({ dataDir: tillDir, deviceLabel: 'till', venueName: 'Café' })
  const reader = new SimulatedCardReader(cards, backend.tagCodec)
  const catalog = new CatalogStore(tillDir)
  await catalog.load()
  const issuers = demoIssuers(root, (doc, bytes) => backend.publishStatement(doc, bytes))
  const service = new VenueService({ backend, reader, catalog, issuers })
  await service.start()
  return { service, reader, backend }
}

beforeAll(async () => {
  root = await mkdtemp(`${tmpdir()}/lakou-node-app-`)
  await ensureDemoVenue(root, cards[0]!.card)
  tillDir = await ensureTill(root, 'till', 'Caisse test')
})
afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

describe('VenueService on the venue node with simulated cards', () => {
  it('signs with the card applet, writes tag states, and keeps balances across a restart', async () => {
    let { service, reader } = await start()
    await reader.tap(staff!)
    await service.call('session.open', { staffCardId: staff! })
    await reader.tap(alex!)
    await service.call('card.topUp', { cardId: alex!, asset: 'EUR', amount: 1500, paidBy: 'cash' })
    const sale = await service.call('sale.pay', {
      lines: [{ productId: 'beer', qty: 1 }],
      payments: [{ method: 'card', cardId: alex!, asset: 'EUR', amount: 350 }],
    })
    expect(sale.balancesAfter[0]!.balances).toEqual([{ asset: 'EUR', amount: 1150 }])
    await reader.tap(lou!)
    await service.call('card.topUp', { cardId: lou!, asset: 'EUR', amount: 800, paidBy: 'bankcard' })
    expect(reader.present()?.tagCardSeq).toBe(1)
    // Re-tapping the tag card reads its signed state back from the card, checked by the ledger.
    await reader.tap(lou!)
    expect(service.cardView(lou!).onCard).toEqual({ cardSeq: 1, ledgerSeq: 1 })
    await service.stop()

    ;({ service, reader } = await start())
    expect(service.cardView(alex!).balances).toEqual([{ asset: 'EUR', amount: 1150 }])
    expect(service.cardView(lou!).balances).toEqual([{ asset: 'EUR', amount: 800 }])
    const report = await service.call('admin.report', {})
    expect(report.totalSales).toBe(350)

    // A venue currency created by the admin is a signed definition: cards can then hold it.
    await service.call('admin.asset.save', {
      id: 'cafe.time',
      name: 'Temps',
      symbol: 'min',
      decimals: 0,
      refundable: false,
    })
    const snapshot = await service.call('state.get', {})
    expect(snapshot.assets.map((a) => a.id)).toContain('cafe.time')
    await reader.tap(staff!)
    await service.call('session.open', { staffCardId: staff! })
    await reader.tap(lou!)
    await service.call('card.topUp', { cardId: lou!, asset: 'cafe.time', amount: 90, paidBy: 'free' })
    expect(service.cardView(lou!).balances).toContainEqual({ asset: 'cafe.time', amount: 90 })
    await expect(
      service.call('admin.federation.admit', { venueName: 'Fest', venuePublicKey: 'zz' }),
    ).rejects.toMatchObject({ name: 'InvalidRequestError' })
    await service.call('admin.federation.admit', { venueName: 'Fest', venuePublicKey: 'ab'.repeat(32) })
    await service.stop()
  })

  it('restores the node ledger from its snapshot on restart, with the same balances and report', async () => {
    let { service, backend } = await start()
    const balances = (id: string) => service.cardView(id).balances
    const before = {
      alex: balances(alex!),
      lou: balances(lou!),
      report: await service.call('admin.report', {}),
      records: backend.records().map((r) => r.hash),
    }
    expect(before.records.length).toBeGreaterThan(0)
    expect(before.report.totalSales).toBe(350)
    await service.stop()

    ;({ service, backend } = await start())
    expect(backend.ledgerReady?.source).toBe('snapshot')
    expect(balances(alex!)).toEqual(before.alex)
    expect(balances(lou!)).toEqual(before.lou)
    const report = await service.call('admin.report', {})
    expect(report).toEqual(before.report)
    expect(backend.records().map((r) => r.hash)).toEqual(before.records)
    await service.stop()
  })
  it('refuses a top-up above the offline ceiling before the card applet signs: the card still pays', async () => {
    const { service, reader, backend } = await start()
    await reader.tap(staff!)
    await service.call('session.open', { staffCardId: staff! })
    await reader.tap(alex!)
    const records = backend.records().length
    const balance = service.cardView(alex!).balances
    await expect(
      service.call('card.topUp', { cardId: alex!, asset: 'EUR', amount: 50_000, paidBy: 'cash' }),
    ).rejects.toMatchObject({
      name: 'RecordRefusedError',
      details: { rule: 'offline-ceiling', limit: 50_000 },
    })
    expect(backend.records()).toHaveLength(records)
    expect(service.cardView(alex!).balances).toEqual(balance)
    // had the applet signed the refused top-up, its counter would be ahead and it would refuse this payment
    const sale = await service.call('sale.pay', {
      lines: [{ productId: 'beer', qty: 1 }],
      payments: [{ method: 'card', cardId: alex!, asset: 'EUR', amount: 350 }],
    })
    expect(sale.balancesAfter[0]!.balances).toEqual([{ asset: 'EUR', amount: balance[0]!.amount - 350 }])
    await service.stop()
  })
  it('a card pulled after its applet signed: nothing written, then CardCounterAheadError, then replace', async () => {
    const { service, reader, backend } = await start()
    await reader.tap(staff!)
    await service.call('session.open', { staffCardId: staff! })
    const presented = await reader.tap(alex!)
    const balance = service.cardView(alex!).balances
    const records = backend.records().length
    // the applet signs (its counter moves and is saved) but the answer never reaches the till
    const signer = presented.signer!
    const sign = signer.signCardRecord.bind(signer)
    signer.signCardRecord = async (cardSeq, hash) => {
      await sign(cardSeq, hash)
      throw new CardTornError('card pulled')
    }
    const pay = () =>
      service.call('sale.pay', {
        lines: [{ productId: 'beer', qty: 1 }],
        payments: [{ method: 'card', cardId: alex!, asset: 'EUR', amount: 350 }],
      })
    await expect(pay()).rejects.toMatchObject({ name: 'CardNotPresentError' })
    expect(backend.records()).toHaveLength(records)
    signer.signCardRecord = sign
    await reader.tap(alex!)
    await expect(pay()).rejects.toMatchObject({ name: 'CardCounterAheadError' })
    expect(backend.records()).toHaveLength(records)
    expect(service.cardView(alex!).balances).toEqual(balance)
    await reader.tap(sam!)
    await service.call('card.replace', { lostCardId: alex!, newCardId: sam! })
    expect(service.cardView(sam!).balances).toEqual(balance)
    await service.stop()
  })
})
