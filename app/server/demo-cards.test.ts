// Demo cards kept in card files (hardware's format) and till sessions proved by the staff card: a restart
// of the node with the cards re-read from their files continues balances, tag states and signing counters
// (a restarted signing card never signs a sequence again), and only the opening staff card closes a session.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openCardFile } from '../../hardware/cards/card-file.ts'
import type { VirtualSigningCard } from '../../hardware/cards/signing-applet.ts'
import { sessionMessageHash, type TillSessionProof } from '../../hardware/mod.ts'
import { CatalogStore } from './catalog-store.ts'
import { demoIssuers, ensureDemoVenue, ensureTill } from './demo-setup.ts'
import { NodeLedgerBackend } from './node-backend.ts'
import { demoVirtualCards, SimulatedCardReader } from './sim-card-reader.ts'
import { VenueService } from './venue-service.ts'

const SEED = 'demo-cards-test'
let root: string
let tillDir: string
let cardsDir: string
const proofs: (TillSessionProof & { staffCardId: string })[] = []

/** A node start as after a restart: the cards are new objects, read back from their files. */
async function start() {
  const cards = demoVirtualCards(SEED, cardsDir)
  const backend = new NodeLedgerBackend({ dataDir: tillDir, deviceLabel: 'till', venueName: 'Café' })
  const reader = new SimulatedCardReader(cards, backend.tagCodec)
  const catalog = new CatalogStore(tillDir)
  await catalog.load()
  const issuers = demoIssuers(root, (doc, bytes) => backend.publishStatement(doc, bytes))
  const service = new VenueService({
    backend,
    reader,
    catalog,
    issuers,
    onSessionProof: (p) => void proofs.push(p),
  })
  await service.start()
  const [staff, alex, , lou] = cards.map((c) => Buffer.from(c.card).toString('hex'))
  return { service, reader, staff: staff!, alex: alex!, lou: lou!, tillId: backend.deviceId }
}

const counterOf = (file: string) =>
  (openCardFile(file, 'signing').card as VirtualSigningCard).snapshot().counter

beforeAll(async () => {
  root = await mkdtemp(`${tmpdir()}/lakou-demo-cards-`)
  cardsDir = join(root, 'cards')
  await ensureDemoVenue(root, demoVirtualCards(SEED)[0]!.card)
  tillDir = await ensureTill(root, 'till', 'Caisse test')
})
afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

describe('demo cards in files, staff card sessions', () => {
  it('a restart continues tag states and signing counters; only the opening staff card closes', async () => {
    let { service, reader, staff, alex, lou, tillId } = await start()
    await reader.tap(staff)
    expect(await service.call('session.open', { staffCardId: staff })).toMatchObject({ proof: 'card-uid' })
    expect(proofs.map((p) => p.action)).toEqual(['open'])
    await reader.tap(alex)
    await service.call('card.topUp', { cardId: alex, asset: 'EUR', amount: 1500, paidBy: 'cash' })
    await service.call('sale.pay', {
      lines: [{ productId: 'beer', qty: 1 }],
      payments: [{ method: 'card', cardId: alex, asset: 'EUR', amount: 350 }],
    })
    // The counter is on disk before each signature leaves the card.
    expect(counterOf(join(cardsDir, 'alex.json'))).toBe(2)
    await reader.tap(lou)
    await service.call('card.topUp', { cardId: lou, asset: 'EUR', amount: 800, paidBy: 'bankcard' })

    // Another card on the reader cannot close the session; the staff card can, chained to the opening.
    await expect(service.call('session.close', {})).rejects.toMatchObject({ name: 'StaffSessionError' })
    expect((await service.call('state.get', {})).session).not.toBeNull()
    await reader.tap(staff)
    await service.call('session.close', {})
    expect((await service.call('state.get', {})).session).toBeNull()
    const [open, close] = proofs
    expect(close).toMatchObject({ action: 'close', staffCardId: staff, till: tillId })
    expect(close!.messageHash).toEqual(sessionMessageHash('close', tillId, open!.messageHash))
    await reader.remove()
    await service.stop()

    ;({ service, reader, staff, alex, lou } = await start())
    // The tag card still carries its signed state (its memory came back from its file).
    await reader.tap(lou)
    expect(service.cardView(lou).onCard).toEqual({ cardSeq: 1, ledgerSeq: 1 })
    expect(service.cardView(lou).balances).toEqual([{ asset: 'EUR', amount: 800 }])
    // The signing card's counter continued: the next record is cardSeq 3, signed and counted.
    expect(counterOf(join(cardsDir, 'alex.json'))).toBe(2)
    await reader.tap(staff)
    await service.call('session.open', { staffCardId: staff })
    await reader.tap(alex)
    await service.call('card.topUp', { cardId: alex, asset: 'EUR', amount: 100, paidBy: 'cash' })
    expect(service.cardView(alex).balances).toEqual([{ asset: 'EUR', amount: 1250 }])
    expect(counterOf(join(cardsDir, 'alex.json'))).toBe(3)
    await reader.tap(lou)
    await service.call('card.topUp', { cardId: lou, asset: 'EUR', amount: 200, paidBy: 'cash' })
    await reader.tap(lou)
    expect(service.cardView(lou).onCard).toEqual({ cardSeq: 2, ledgerSeq: 2 })
    await service.stop()
  })
})
