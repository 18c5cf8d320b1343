// The catalog as signed venue config on real venue nodes (automerge-repo on disk, libp2p on loopback):
// the first till seeds it once, an admin's edit reaches another till of the venue (and its screens are
// told), a cashier-only till cannot edit it, and a till restarted with no peer still has the edit.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { enrollDevice } from '../../sync/node/setup.ts'
import { CatalogStore } from './catalog-store.ts'
import { demoDirs, ensureDemoVenue, ensureTill } from './demo-setup.ts'
import { NodeLedgerBackend } from './node-backend.ts'
import { demoVirtualCards, SimulatedCardReader } from './sim-card-reader.ts'
import { SyncedCatalog } from './synced-catalog.ts'
import { VenueService } from './venue-service.ts'

let root: string
const cards = demoVirtualCards('synced-catalog-test')

async function start(dataDir: string, o: { seed?: boolean; peers?: string[] } = {}) {
  const backend = new NodeLedgerBackend({
    dataDir,
    deviceLabel: dataDir,
    venueName: 'Café',
    ...(o.peers ? { peers: o.peers } : {}),
  })
  const reader = new SimulatedCardReader(cards, backend.tagCodec)
  const seedFile = new CatalogStore(dataDir)
  const catalog = new SyncedCatalog(
    backend.venueConfig,
    o.seed
      ? {
          seed: async () => {
            await seedFile.load()
            return seedFile.get()
          },
        }
      : {},
  )
  const service = new VenueService({ backend, reader, catalog })
  await service.start()
  await catalog.load()
  const events: string[] = []
  service.onEvent((e) => void events.push(e))
  return { service, catalog, backend, events }
}

async function until(ok: () => boolean, timeoutMs = 20_000): Promise<void> {
  const t0 = Date.now()
  while (!ok()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 50))
  }
}

beforeAll(async () => {
  root = await mkdtemp(`${tmpdir()}/lakou-synced-catalog-`)
  await ensureDemoVenue(root, cards[0]!.card)
})
afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

describe('catalog as signed venue config', () => {
  it("seeds once, an admin's edit reaches the other till, a cashier cannot edit, kept offline", async () => {
    const adminDir = await ensureTill(root, 'till', 'Caisse bar') // cashier, door and admin
    const cashierDir = join(root, 'cashier')
    await enrollDevice(demoDirs(root).venue, cashierDir, { roles: ['cashier'], label: 'Caisse terrasse' })

    const a = await start(adminDir, { seed: true })
    const seeded = a.catalog.get()
    expect(seeded.products.find((p) => p.id === 'beer')?.price).toBe(350)
    const b = await start(cashierDir, { peers: a.backend.addresses() })

    // The admin changes a price and routes the bar to the kitchen printer: signed entries, synced.
    await a.service.call('admin.product.save', {
      id: 'beer',
      name: 'Bière pression',
      categoryId: 'bar',
      price: 380,
      asset: 'EUR',
      vatBp: 2000,
    })
    await a.service.call('admin.category.save', { id: 'bar', name: 'Bar', printer: 'kitchen' })
    expect(a.catalog.get().products.find((p) => p.id === 'beer')?.price).toBe(380)
    await until(
      () =>
        b.catalog.get().products.find((p) => p.id === 'beer')?.price === 380 &&
        b.catalog.get().categories.find((c) => c.id === 'bar')?.printer === 'kitchen',
    )
    expect(b.events).toContain('catalog.changed')
    const state = await b.service.call('state.get', {})
    expect(state.products.find((p) => p.id === 'beer')?.price).toBe(380)

    // A cashier-only till cannot sign the venue's config: typed refusal, nothing changes anywhere.
    await expect(
      b.service.call('admin.plan.save', { id: 'free', name: 'Gratuit', price: 0, asset: 'EUR', days: 1 }),
    ).rejects.toMatchObject({ name: 'VenueConfigRejectedError', reason: 'not-admin' })
    expect(b.catalog.get().plans.some((p) => p.id === 'free')).toBe(false)

    await b.service.stop()
    await a.service.stop()
    // Restarted with no peer at all: the till reads the config from its own disk.
    const b2 = await start(cashierDir)
    expect(b2.catalog.get().products.find((p) => p.id === 'beer')?.price).toBe(380)
    await b2.service.stop()
    // The admin till does not seed again: its edits stay the current version.
    const a2 = await start(adminDir, { seed: true })
    expect(a2.catalog.get().products.find((p) => p.id === 'beer')?.price).toBe(380)
    await a2.service.stop()
  }, 90_000)
})
