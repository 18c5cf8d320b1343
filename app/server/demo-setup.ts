// Data folders of the networked demo: a federation, the venue "Café Lakou" (staff card certified), and
// one folder per till enrolled by the venue (sync/node/setup.ts). Created once; later starts reuse them.
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { AutomergeUrl } from '@automerge/automerge-repo'
import { Repo } from '@automerge/automerge-repo'
import { type CardId, type Role, signStatement } from '../../ledger/mod.ts'
import { DurableFsStorageAdapter } from '../../sync/docs/durable-storage.ts'
import { DocumentLayout, type VenueDoc } from '../../sync/docs/mod.ts'
import { dataPaths } from '../../sync/node/config.ts'
import { loadKey } from '../../sync/node/files.ts'
import { admitVenue, createFederation, enrollDevice } from '../../sync/node/setup.ts'
import type { IssuerPort } from './venue-service.ts'

export const VENUE_NAME = 'Café Lakou'

export function demoDirs(root: string) {
  return { federation: join(root, 'federation'), venue: join(root, 'venue') }
}

/** Creates the federation and the venue once; certifies the demo staff card with the venue key. */
export async function ensureDemoVenue(root: string, staffCard: CardId): Promise<void> {
  const dirs = demoDirs(root)
  if (existsSync(dataPaths(dirs.venue).setup)) return
  await createFederation(dirs.federation)
  const venue = await admitVenue(dirs.federation, dirs.venue, VENUE_NAME)
  const venueKey = await loadKey(dataPaths(dirs.venue).venueKey)
  const repo = new Repo({ storage: new DurableFsStorageAdapter(dataPaths(dirs.venue).automerge) })
  const layout = new DocumentLayout(repo)
  const doc = await repo.find<VenueDoc>(venue.venueUrl as AutomergeUrl)
  const staff = await signStatement(
    { kind: 'staff-card', issuer: venueKey.publicKey, time: Date.now(), card: staffCard, label: 'Camille' },
    venueKey,
  )
  await layout.addEntry(doc, staff)
  await repo.shutdown()
}

/** The demo admin holds the venue and federation keys: new assets and venue admissions are signed here. */
export function demoIssuers(
  root: string,
  publish: (doc: 'federation' | 'venue', bytes: Uint8Array) => Promise<void>,
): IssuerPort {
  const dirs = demoDirs(root)
  return {
    async certifyDevice(device, roles, label) {
      const key = await loadKey(dataPaths(dirs.venue).venueKey)
      const certificate = await signStatement(
        {
          kind: 'device-certificate',
          issuer: key.publicKey,
          time: Date.now(),
          device,
          roles: roles as Role[],
          notBefore: 0,
          notAfter: 0,
          label,
        },
        key,
      )
      await publish('venue', certificate)
      return certificate
    },
    async defineVenueAsset(a) {
      const key = await loadKey(dataPaths(dirs.venue).venueKey)
      const kind = a.refundable ? 'local' : 'gift'
      const statement = await signStatement(
        {
          kind: 'asset-definition',
          issuer: key.publicKey,
          time: Date.now(),
          asset: a.asset,
          assetKind: kind,
          decimals: a.decimals,
          refundable: a.refundable,
          floor: 0,
          name: a.name,
        },
        key,
      )
      await publish('venue', statement)
    },
    async admitVenue(name, venuePublicKey) {
      const key = await loadKey(dataPaths(dirs.federation).federationKey)
      const statement = await signStatement(
        { kind: 'venue-admission', issuer: key.publicKey, time: Date.now(), venue: venuePublicKey, name },
        key,
      )
      await publish('federation', statement)
    },
  }
}

/** Enrolls a till folder once (cashier, door and admin roles: the demo till does everything). */
export async function ensureTill(root: string, name: string, label: string): Promise<string> {
  const dir = join(root, name)
  if (!existsSync(dataPaths(dir).config))
    await enrollDevice(demoDirs(root).venue, dir, { roles: ['cashier', 'door', 'admin'], label })
  return dir
}

/** Addresses the first till publishes for the second one (written at each start). */
export const addressesFile = (root: string) => join(root, 'till', 'addresses.json')

export async function readAddresses(root: string): Promise<string[]> {
  const text = await readFile(addressesFile(root), 'utf8').catch(() => '[]')
  return JSON.parse(text) as string[]
}
