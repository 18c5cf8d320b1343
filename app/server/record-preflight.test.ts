// The till refuses, before any card signs, a record the ledger would refuse (here: a signing card top-up
// above the offline ceiling). Without this, the card's counter consumed the cardSeq and every later
// payment with the card was refused by the card ("not above its counter").
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CardSequenceRefusedError } from '../../hardware/errors.ts'
import { createFixture, type Fixture, toHex } from '../../ledger/mod.ts'
import { EmulatedCardReader } from './card-reader.ts'
import { CatalogStore } from './catalog-store.ts'
import { demoCards } from './demo.ts'
import { LocalLedgerBackend } from './local-ledger.ts'
import { type DemoPrinting, startDemoPrinting } from './printing.ts'
import { rethrowCardError } from './record-preflight.ts'
import { VenueService } from './venue-service.ts'

let dir: string
let fx: Fixture
let service: VenueService
let backend: LocalLedgerBackend
let reader: EmulatedCardReader
let printing: DemoPrinting
let staff: string
let alex: string

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lakou-preflight-'))
  fx = await createFixture('lakou-demo', { venues: 1, signingCards: 2, tagCards: 2 })
  const cards = demoCards(fx)
  reader = new EmulatedCardReader(cards)
  staff = toHex(cards[0]!.card)
  alex = toHex(cards[1]!.card) // a signing card (fx.signingCards[0])
  const catalog = new CatalogStore(dir)
  await catalog.load()
  backend = new LocalLedgerBackend({
    dataDir: join(dir, 'ledger'),
    device: fx.venues[0]!.cashier.key,
    deviceLabel: 'till',
    venueName: 'Café',
    federationKeys: [fx.federation.publicKey],
    statements: fx.statements,
  })
  printing = await startDemoPrinting(dir, catalog.get().categories)
  service = new VenueService({ backend, reader, catalog, printer: printing })
  await service.start()
  await reader.tap(staff)
  await service.call('session.open', { staffCardId: staff })
})
afterEach(async () => {
  await service.stop()
  await printing.stop()
  await rm(dir, { recursive: true, force: true })
})

const eur = () => service.cardView(alex).balances.find((b) => b.asset === 'EUR')?.amount ?? 0
const onDisk = () => readFile(join(dir, 'ledger', 'records.bin')).then((b) => b.length)

describe('the till preflights records before any card signs', () => {
  it('refuses a top-up above the signing card ceiling unsigned; the next payment with the card succeeds', async () => {
    const card = fx.signingCards[0]!
    const ceiling = fx.offlineCeiling.signing
    await reader.tap(alex)
    await service.call('card.topUp', { cardId: alex, asset: 'EUR', amount: 1000, paidBy: 'cash' })
    const counter = card.counter
    const records = backend.records().length
    const bytes = await onDisk()

    const refused = service.call('card.topUp', {
      cardId: alex,
      asset: 'EUR',
      amount: ceiling,
      paidBy: 'cash',
    })
    await expect(refused).rejects.toMatchObject({
      name: 'RecordRefusedError',
      details: { rule: 'offline-ceiling', limit: ceiling, asset: 'EUR' },
    })
    const error = (await refused.catch((e: Error) => e)) as Error & { details: { en: string } }
    // 50_000 minor units: "500,00 €" (Intl puts a narrow no-break space before the sign)
    expect(error.message).toMatch(/^Plafond hors ligne dépassé : 500,00\s€ au plus sur cette carte$/)
    expect(error.details.en).toBe('Offline ceiling exceeded: at most €500.00 on this card')
    expect(card.counter).toBe(counter)
    expect(backend.records()).toHaveLength(records)
    expect(await onDisk()).toBe(bytes)
    expect(eur()).toBe(1000)

    // the card and the till go on: a top-up up to the ceiling, then a card payment
    await service.call('card.topUp', { cardId: alex, asset: 'EUR', amount: ceiling - 1000, paidBy: 'cash' })
    expect(eur()).toBe(ceiling)
    const sale = await service.call('sale.pay', {
      lines: [{ productId: 'beer', qty: 1 }],
      payments: [{ method: 'card', cardId: alex, asset: 'EUR', amount: 350 }],
    })
    expect(sale.balancesAfter[0]!.balances).toEqual([{ asset: 'EUR', amount: ceiling - 350 }])
    expect(card.counter).toBe(counter + 2)
  })

  it('a tag card record the ledger would refuse is not persisted either', async () => {
    const lou = toHex(fx.tagCards[0]!)
    await reader.tap(lou)
    const bytes = await onDisk().catch(() => 0)
    await expect(
      service.call('card.topUp', {
        cardId: lou,
        asset: 'EUR',
        amount: fx.offlineCeiling.tag + 1,
        paidBy: 'cash',
      }),
    ).rejects.toMatchObject({ name: 'RecordRefusedError', details: { rule: 'offline-ceiling' } })
    expect(await onDisk().catch(() => 0)).toBe(bytes)
    await service.call('card.topUp', { cardId: lou, asset: 'EUR', amount: 100, paidBy: 'cash' })
    expect(service.cardView(lou).balances).toEqual([{ asset: 'EUR', amount: 100 }])
  })
})

describe('a signing card whose counter is ahead of the ledger (pulled between SIGN and its answer)', () => {
  it('is reported as CardCounterAheadError, nothing is written, and card.replace moves its balance', async () => {
    const card = fx.signingCards[0]!
    await reader.tap(alex)
    await service.call('card.topUp', { cardId: alex, asset: 'EUR', amount: 1000, paidBy: 'cash' })
    // the card signed cardSeq 2 but the answer never reached the till (its counter moved, nothing else)
    card.counter += 1
    const bytes = await onDisk()
    await expect(
      service.call('sale.pay', {
        lines: [{ productId: 'beer', qty: 1 }],
        payments: [{ method: 'card', cardId: alex, asset: 'EUR', amount: 350 }],
      }),
    ).rejects.toMatchObject({ name: 'CardCounterAheadError', details: { cardSeq: 2 } })
    expect(await onDisk()).toBe(bytes)
    expect(eur()).toBe(1000)
    const sam = toHex(fx.signingCards[1]!.card)
    await reader.tap(sam)
    await service.call('card.replace', { lostCardId: alex, newCardId: sam })
    expect(service.cardView(sam).balances).toEqual([{ asset: 'EUR', amount: 1000 }])
  })

  it('maps the applet refusal (hardware CardSequenceRefusedError) too, and lets other errors through', () => {
    expect(() => rethrowCardError(new CardSequenceRefusedError(7))).toThrow(
      expect.objectContaining({
        name: 'CardCounterAheadError',
        details: expect.objectContaining({ cardSeq: 7 }),
      }),
    )
    const other = new Error('reader gone')
    expect(() => rethrowCardError(other)).toThrow(other)
  })
})
