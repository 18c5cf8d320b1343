// A deterministic demo / test federation from a seed: the same seed gives the same keys, statements
// and cards everywhere (sync, hardware, app and bench reuse it). Never use these keys in production.
import { tagCardId } from './codec.ts'
import { type KeyPair, keyPairFromLabel, sha256 } from './crypto.ts'
import { DeviceChainWriter, EmulatedSigningCard, signStatement } from './sign.ts'
import type { CardId, Role } from './types.ts'

export const FIXTURE_TIME = Date.UTC(2026, 0, 1)

export interface FixtureDevice {
  key: KeyPair
  roles: Role[]
  label: string
  certificate: Uint8Array
}

export interface FixtureVenue {
  key: KeyPair
  /** Short name, used as asset id prefix ("cafe.gift"). */
  name: string
  admission: Uint8Array
  cashier: FixtureDevice
  door: FixtureDevice
  admin: FixtureDevice
  relay: FixtureDevice
  /** Staff card certified by this venue (a tag card id). */
  staffCard: CardId
  staffCertificate: Uint8Array
  /** Venue assets: gift, time and loyalty points. */
  assets: { gift: string; time: string; loyalty: string }
}

export interface Fixture {
  seed: string
  federation: KeyPair
  venues: FixtureVenue[]
  /** Federation assets. */
  assets: { euro: 'EUR'; local: 'GONETTE' }
  offlineCeiling: { signing: number; tag: number }
  /** Every statement, in an order where issuers come first (any order also works: pending resolves). */
  statements: Uint8Array[]
  signingCards: EmulatedSigningCard[]
  tagCards: CardId[]
  /** A fresh device-chain writer for a fixture device (starts at deviceSeq 1). */
  writer(device: FixtureDevice, time?: number): DeviceChainWriter
}

export interface FixtureOptions {
  venues?: number
  signingCards?: number
  tagCards?: number
}

const VENUE_NAMES = ['cafe', 'fest', 'tiers', 'coop', 'club', 'bar', 'salle', 'jardin']

export async function createFixture(seed = 'lakou-demo', options: FixtureOptions = {}): Promise<Fixture> {
  const nVenues = options.venues ?? 2
  const key = (label: string) => keyPairFromLabel(`${seed}/${label}`)
  const time = FIXTURE_TIME
  const federation = await key('federation')
  const statements: Uint8Array[] = []
  const offlineCeiling = { signing: 50_000, tag: 15_000 }
  statements.push(
    await signStatement(
      { kind: 'federation-policy', issuer: federation.publicKey, time, version: 1, offlineCeiling },
      federation,
    ),
  )
  const defineAsset = async (
    issuer: KeyPair,
    asset: string,
    assetKind: 'euro' | 'gift' | 'time' | 'loyalty' | 'local',
    refundable: boolean,
    decimals: number,
  ) =>
    statements.push(
      await signStatement(
        {
          kind: 'asset-definition',
          issuer: issuer.publicKey,
          time,
          asset,
          assetKind,
          decimals,
          refundable,
          floor: 0,
          name: asset,
        },
        issuer,
      ),
    )
  await defineAsset(federation, 'EUR', 'euro', true, 2)
  await defineAsset(federation, 'GONETTE', 'local', false, 2)

  const venues: FixtureVenue[] = []
  for (let v = 0; v < nVenues; v++) {
    const name = VENUE_NAMES[v] ?? `v${v}`
    const venueKey = await key(`venue/${name}`)
    const admission = await signStatement(
      { kind: 'venue-admission', issuer: federation.publicKey, time, venue: venueKey.publicKey, name },
      federation,
    )
    statements.push(admission)
    const device = async (label: string, roles: Role[]): Promise<FixtureDevice> => {
      const k = await key(`venue/${name}/device/${label}`)
      const certificate = await signStatement(
        {
          kind: 'device-certificate',
          issuer: venueKey.publicKey,
          time,
          device: k.publicKey,
          roles,
          notBefore: 0,
          notAfter: 0,
          label: `${name}-${label}`,
        },
        venueKey,
      )
      statements.push(certificate)
      return { key: k, roles, label: `${name}-${label}`, certificate }
    }
    const cashier = await device('till1', ['cashier'])
    const door = await device('door1', ['door'])
    const admin = await device('admin', ['admin'])
    const relay = await device('relay', ['relay'])
    const staffCard = tagCardId(sha256(new TextEncoder().encode(`${seed}/staff/${name}`)).subarray(0, 7))
    const staffCertificate = await signStatement(
      { kind: 'staff-card', issuer: venueKey.publicKey, time, card: staffCard, label: `${name} staff` },
      venueKey,
    )
    statements.push(staffCertificate)
    const assets = { gift: `${name}.gift`, time: `${name}.time`, loyalty: `${name}.loyalty` }
    await defineAsset(venueKey, assets.gift, 'gift', false, 0)
    await defineAsset(venueKey, assets.time, 'time', false, 0)
    await defineAsset(venueKey, assets.loyalty, 'loyalty', false, 0)
    venues.push({
      key: venueKey,
      name,
      admission,
      cashier,
      door,
      admin,
      relay,
      staffCard,
      staffCertificate,
      assets,
    })
  }

  const signingCards: EmulatedSigningCard[] = []
  for (let i = 0; i < (options.signingCards ?? 2); i++)
    signingCards.push(new EmulatedSigningCard(await key(`signing-card/${i}`)))
  const tagCards: CardId[] = []
  for (let i = 0; i < (options.tagCards ?? 3); i++)
    tagCards.push(tagCardId(sha256(new TextEncoder().encode(`${seed}/tag-card/${i}`)).subarray(0, 7)))

  return {
    seed,
    federation,
    venues,
    assets: { euro: 'EUR', local: 'GONETTE' },
    offlineCeiling,
    statements,
    signingCards,
    tagCards,
    writer: (device, t = time) => {
      let clock = t
      return new DeviceChainWriter(device.key, { clock: () => clock++ })
    },
  }
}

/** mulberry32: a small deterministic generator for seeded tests and benches (print the seed on failure). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
