import { beforeAll, describe, expect, it } from 'vitest'
import { createFixture, type Fixture } from './fixtures.ts'
import { keyPairFromLabel, LedgerDecodeError, LedgerIndex, signStatement } from './mod.ts'
import {
  decodeVenueConfig,
  nextVenueConfigVersion,
  resolveVenueConfig,
  signVenueConfig,
  type VenueConfigBody,
  VenueConfigRejectedError,
  verifyVenueConfig,
} from './venue-config.ts'

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v))
const text = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as unknown

let fx: Fixture
let index: LedgerIndex

beforeAll(async () => {
  fx = await createFixture('venue-config')
  index = new LedgerIndex({ federation: fx.federation.publicKey })
  await index.ingestMany(fx.statements)
})

const body = (over: Partial<VenueConfigBody> = {}): VenueConfigBody => ({
  venue: fx.venues[0]!.key.publicKey,
  section: 'catalog',
  version: 1,
  time: Date.now(),
  payload: json({ products: [{ id: 'beer', price: 350 }] }),
  ...over,
})

describe('venue config entries', () => {
  it('an admin device entry round-trips and is trusted', async () => {
    const e = await signVenueConfig(body(), fx.venues[0]!.admin.key)
    const decoded = decodeVenueConfig(e.bytes)
    expect(decoded.hash).toEqual(e.hash)
    expect(decoded.section).toBe('catalog')
    const ok = await verifyVenueConfig(e.bytes, index)
    expect(text(ok.payload)).toEqual({ products: [{ id: 'beer', price: 350 }] })
  })

  it('refuses a cashier, another venue admin, an unknown device and a bad signature by reason', async () => {
    const reason = async (bytes: Uint8Array) => {
      const err = await verifyVenueConfig(bytes, index).then(
        () => null,
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(VenueConfigRejectedError)
      return (err as VenueConfigRejectedError).reason
    }
    const cafe = fx.venues[0]!
    const fest = fx.venues[1]!
    expect(await reason((await signVenueConfig(body(), cafe.cashier.key)).bytes)).toBe('not-admin')
    expect(await reason((await signVenueConfig(body(), fest.admin.key)).bytes)).toBe('other-venue')
    const stranger = await keyPairFromLabel('venue-config/stranger')
    expect(await reason((await signVenueConfig(body(), stranger)).bytes)).toBe('not-certified')
    const tampered = (await signVenueConfig(body(), cafe.admin.key)).bytes
    tampered[tampered.length - 70]! ^= 1 // a payload byte: the hash changes, the signature no longer fits
    expect(await reason(tampered)).toBe('signature')
  })

  it("refuses a revoked admin's entries and an entry outside the certificate's validity", async () => {
    const cafe = fx.venues[0]!
    const trust = new LedgerIndex({ federation: fx.federation.publicKey })
    await trust.ingestMany(fx.statements)
    const temp = await keyPairFromLabel('venue-config/temp-admin')
    const t0 = Date.now()
    await trust.ingestMany([
      await signStatement(
        {
          kind: 'device-certificate',
          issuer: cafe.key.publicKey,
          time: t0,
          device: temp.publicKey,
          roles: ['admin'],
          notBefore: t0 - 1000,
          notAfter: t0 + 1000,
          label: 'temp admin',
        },
        cafe.key,
      ),
    ])
    const inside = await signVenueConfig(body({ time: t0 }), temp)
    expect((await verifyVenueConfig(inside.bytes, trust)).version).toBe(1)
    const after = await signVenueConfig(body({ time: t0 + 5000 }), temp)
    await expect(verifyVenueConfig(after.bytes, trust)).rejects.toMatchObject({ reason: 'validity' })

    const admin = await signVenueConfig(body(), cafe.admin.key)
    expect((await verifyVenueConfig(admin.bytes, trust)).version).toBe(1)
    await trust.ingestMany([
      await signStatement(
        {
          kind: 'device-revocation',
          issuer: cafe.key.publicKey,
          time: Date.now(),
          device: cafe.admin.key.publicKey,
          cutoffSeq: 0,
          reason: 'stolen laptop',
        },
        cafe.key,
      ),
    ])
    await expect(verifyVenueConfig(admin.bytes, trust)).rejects.toMatchObject({ reason: 'revoked' })
  })

  it('refuses malformed bytes with a decode error', async () => {
    const e = await signVenueConfig(body(), fx.venues[0]!.admin.key)
    await expect(verifyVenueConfig(e.bytes.subarray(0, 40), index)).rejects.toBeInstanceOf(LedgerDecodeError)
    const extra = new Uint8Array(e.bytes.length + 1)
    extra.set(e.bytes.subarray(0, e.bytes.length - 64))
    extra.set(e.bytes.subarray(e.bytes.length - 64), e.bytes.length - 63)
    await expect(verifyVenueConfig(extra, index)).rejects.toBeInstanceOf(LedgerDecodeError)
  })

  it('resolves the highest valid version per section, deterministically in any order', async () => {
    const cafe = fx.venues[0]!
    const v1 = await signVenueConfig(body({ version: 1, payload: json('v1') }), cafe.admin.key)
    const v2 = await signVenueConfig(body({ version: 2, payload: json('v2') }), cafe.admin.key)
    const v2b = await signVenueConfig(body({ version: 2, payload: json('v2b') }), cafe.admin.key)
    // a cashier's higher version must not win
    const forged = await signVenueConfig(body({ version: 99, payload: json('forged') }), cafe.cashier.key)
    const plans = await signVenueConfig(body({ section: 'plans', payload: json('plans') }), cafe.admin.key)
    const other = await signVenueConfig(
      body({ venue: fx.venues[1]!.key.publicKey, version: 50, payload: json('fest') }),
      fx.venues[1]!.admin.key,
    )
    const all = [v1, v2, v2b, forged, plans, other].map((e) => e.bytes)
    const expected = Buffer.compare(Buffer.from(v2.hash), Buffer.from(v2b.hash)) < 0 ? 'v2' : 'v2b'
    for (const order of [
      all,
      [...all].reverse(),
      [all[2]!, all[0]!, all[3]!, all[1]!, all[5]!, all[4]!, all[1]!],
    ]) {
      const r = await resolveVenueConfig(order, cafe.key.publicKey, index)
      expect(text(r.sections.catalog!.payload)).toBe(expected)
      expect(text(r.sections.plans!.payload)).toBe('plans')
      expect(r.sections.agenda).toBeUndefined()
      expect(r.rejected.map((x) => (x.error as VenueConfigRejectedError).reason)).toEqual(['not-admin'])
      expect(nextVenueConfigVersion(r, 'catalog')).toBe(3)
      expect(nextVenueConfigVersion(r, 'agenda')).toBe(1)
    }
  })
})
