import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createFixture, type Fixture, toHex } from '../../ledger/mod.ts'
import { EmulatedCardReader } from './card-reader.ts'
import { CatalogStore } from './catalog-store.ts'
import { demoCards } from './demo.ts'
import { LocalLedgerBackend } from './local-ledger.ts'
import { type DemoPrinting, startDemoPrinting } from './printing.ts'
import { VenueService } from './venue-service.ts'

let dir: string
let fx: Fixture
let service: VenueService
let reader: EmulatedCardReader
let printing: DemoPrinting
let ids: { staff: string; alex: string; sam: string; lou: string }

async function startService(): Promise<VenueService> {
  const venue = fx.venues[0]!
  const cards = demoCards(fx)
  reader = new EmulatedCardReader(cards)
  const [staff, alex, sam, lou] = cards.map((c) => toHex(c.card))
  ids = { staff: staff!, alex: alex!, sam: sam!, lou: lou! }
  const catalog = new CatalogStore(dir)
  await catalog.load()
  const backend = new LocalLedgerBackend({
    dataDir: join(dir, 'ledger'),
    device: venue.cashier.key,
    deviceLabel: 'till',
    venueName: 'Café',
    federationKeys: [fx.federation.publicKey],
    statements: fx.statements,
  })
  printing = await startDemoPrinting(dir, catalog.get().categories)
  const s = new VenueService({ backend, reader, catalog, printer: printing })
  await s.start()
  return s
}

const eur = (s: VenueService, cardId: string) =>
  s.cardView(cardId).balances.find((b) => b.asset === 'EUR')?.amount ?? 0

async function openTill() {
  await reader.tap(ids.staff)
  await service.call('session.open', { staffCardId: ids.staff })
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lakou-app-'))
  fx = await createFixture('lakou-demo', { venues: 1, signingCards: 2, tagCards: 2 })
  service = await startService()
})
afterEach(async () => {
  await service.stop()
  await printing.stop()
  await rm(dir, { recursive: true, force: true })
})

describe('VenueService on the real ledger index', () => {
  it('refuses till operations without a session and sessions without a staff card', async () => {
    await reader.tap(ids.alex)
    await expect(
      service.call('card.topUp', { cardId: ids.alex, asset: 'EUR', amount: 500, paidBy: 'cash' }),
    ).rejects.toMatchObject({ name: 'NoSessionError' })
    await expect(service.call('session.open', { staffCardId: ids.alex })).rejects.toMatchObject({
      name: 'NotStaffError',
    })
    await expect(service.call('session.open', { staffCardId: ids.staff })).rejects.toMatchObject({
      name: 'CardNotPresentError',
    })
  })

  it('tops up, sells by card tap with a deposit return, and shows the balance after each tap', async () => {
    await openTill()
    await reader.tap(ids.alex)
    await service.call('card.topUp', { cardId: ids.alex, asset: 'EUR', amount: 2000, paidBy: 'cash' })
    expect(eur(service, ids.alex)).toBe(2000)
    const sale = await service.call('sale.pay', {
      lines: [
        { productId: 'beer', qty: 2 },
        { productId: 'cup', qty: 2 },
        { productId: 'fries', qty: 1 },
      ],
      payments: [{ method: 'card', cardId: ids.alex, asset: 'EUR', amount: 1300 }],
    })
    expect(sale.balancesAfter[0]!.balances).toEqual([{ asset: 'EUR', amount: 700 }])
    expect(sale.kitchenTickets).toEqual([{ printer: 'kitchen', lines: [{ name: 'Frites', qty: 1 }] }])
    expect(sale.receiptSvg).toContain('<svg')
    // The ticket goes through the print queue and TCP: poll's default 1 s is too short on a loaded machine.
    await expect
      .poll(
        () =>
          printing.kitchen
            .pages()
            .flatMap((p) => p.lines.map((l) => l.text))
            .join('\n'),
        { timeout: 20_000 },
      )
      .toMatch(/Frites/)
    expect(
      printing.kitchen
        .pages()
        .flatMap((p) => p.lines.map((l) => l.text))
        .join('\n'),
    ).not.toMatch(/Bière/)
    const back = await service.call('sale.pay', {
      lines: [{ productId: 'cup', qty: -2 }],
      payments: [{ method: 'card', cardId: ids.alex, asset: 'EUR', amount: 200 }],
    })
    expect(back.total).toBe(-200)
    expect(eur(service, ids.alex)).toBe(900)
  })

  it('needs the paying card on the reader and refuses more than the balance', async () => {
    await openTill()
    await reader.tap(ids.alex)
    await service.call('card.topUp', { cardId: ids.alex, asset: 'EUR', amount: 300, paidBy: 'cash' })
    await reader.tap(ids.sam)
    const pay = (amount: number) =>
      service.call('sale.pay', {
        lines: [{ productId: 'beer', qty: 1 }],
        payments: [{ method: 'card', cardId: ids.alex, asset: 'EUR', amount }],
      })
    await expect(pay(350)).rejects.toMatchObject({ name: 'CardNotPresentError' })
    await reader.tap(ids.alex)
    await expect(pay(350)).rejects.toMatchObject({ name: 'InsufficientBalanceError' })
    expect(eur(service, ids.alex)).toBe(300)
  })

  it('puts the remainder on a second card, then voids the last sale', async () => {
    await openTill()
    for (const [card, amount] of [
      [ids.alex, 600],
      [ids.lou, 1000],
    ] as const) {
      await reader.tap(card)
      await service.call('card.topUp', { cardId: card, asset: 'EUR', amount, paidBy: 'bankcard' })
    }
    await reader.tap(ids.alex)
    const first = await service.call('sale.pay', {
      lines: [{ productId: 'burger', qty: 1 }],
      payments: [{ method: 'card', cardId: ids.alex, asset: 'EUR', amount: 600 }],
      splitRemainder: true,
    })
    expect(first.remainder).toBe(350)
    await reader.tap(ids.lou)
    const second = await service.call('sale.payRemainder', {
      saleId: first.saleId,
      payments: [{ method: 'card', cardId: ids.lou, asset: 'EUR', amount: 350 }],
    })
    expect(second.remainder).toBe(0)
    expect(eur(service, ids.alex)).toBe(0)
    expect(eur(service, ids.lou)).toBe(650)
    const report = await service.call('admin.report', {})
    expect(report.totalSales).toBe(950)
    await service.call('sale.voidLast', {})
    expect(eur(service, ids.lou)).toBe(1000)
  })

  it('refunds only refundable balance, and a close-out compares counted cash with expected', async () => {
    await openTill()
    await reader.tap(ids.alex)
    await service.call('card.topUp', { cardId: ids.alex, asset: 'EUR', amount: 1000, paidBy: 'cash' })
    await expect(
      service.call('card.refund', { cardId: ids.alex, asset: 'EUR', amount: 1001 }),
    ).rejects.toMatchObject({ name: 'RefundNotAllowedError' })
    await service.call('card.refund', { cardId: ids.alex, asset: 'EUR', amount: 400 })
    await service.call('sale.pay', {
      lines: [{ productId: 'coffee', qty: 1 }],
      payments: [{ method: 'cash', amount: 200 }],
    })
    const z = await service.call('admin.closeOut', { countedCash: 700, scope: 'device' })
    expect(z.expectedCash).toBe(1000 - 400 + 150)
    expect(z.difference).toBe(700 - 750)
    const next = await service.call('admin.closeOut', { countedCash: 0, scope: 'device' })
    expect(next.expectedCash).toBe(0)
  })

  it('admits a ticket once at the door, with the reason shown when refused', async () => {
    await openTill()
    await reader.tap(ids.alex)
    const ticket = await service.call('ticket.sell', {
      cardId: ids.alex,
      eventId: 'concert',
      ticketTypeId: 'concert-full',
      paidBy: 'cash',
    })
    expect(await service.call('door.check', { eventId: 'bal', ticketCode: ticket.code })).toMatchObject({
      admitted: false,
      reason: 'wrong-event',
    })
    expect(await service.call('door.check', { eventId: 'concert', cardId: ids.alex })).toMatchObject({
      admitted: true,
    })
    expect(await service.call('door.check', { eventId: 'concert', ticketCode: ticket.code })).toMatchObject({
      admitted: false,
      reason: 'already-used',
    })
    expect(await service.call('door.check', { eventId: 'concert', ticketCode: 'T-NOPE' })).toMatchObject({
      admitted: false,
      reason: 'unknown-ticket',
    })
    expect(await service.call('door.check', { eventId: 'concert', cardId: ids.sam })).toMatchObject({
      admitted: false,
      reason: 'no-ticket',
    })
  })

  it('moves a lost card balance to a new card and freezes the lost one; state survives a restart', async () => {
    await openTill()
    await reader.tap(ids.lou)
    await service.call('card.topUp', { cardId: ids.lou, asset: 'EUR', amount: 1200, paidBy: 'cash' })
    const fresh = await service.call('card.replace', {
      lostCardId: ids.lou,
      newCardId: toHex(fx.tagCards[1]!),
    })
    expect(fresh.balances).toEqual([{ asset: 'EUR', amount: 1200 }])
    expect(service.cardView(ids.lou).frozen).toBe(true)
    await service.stop()
    await printing.stop()
    service = await startService()
    expect(service.cardView(ids.lou).frozen).toBe(true)
    expect(eur(service, toHex(fx.tagCards[1]!))).toBe(1200)
    await openTill()
    await reader.tap(ids.lou)
    await expect(
      service.call('card.topUp', { cardId: ids.lou, asset: 'EUR', amount: 100, paidBy: 'cash' }),
    ).rejects.toMatchObject({ name: 'CardFrozenError' })
  })
})
