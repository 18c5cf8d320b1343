import { describe, expect, it } from 'vitest'
import { EnrollmentOffers, type EnrollmentPackage } from './enrollment.ts'

const pack: EnrollmentPackage = {
  config: { v: 1, federationKey: 'f', federationUrl: 'automerge:x', bundle: 'b', roles: ['cashier'] },
  docs: {},
  peers: [],
}

describe('EnrollmentOffers', () => {
  it('redeems a code once, with the roles and label offered, and refuses replays, expiry and bad keys', async () => {
    let now = 1_000
    const offers = new EnrollmentOffers(() => now)
    const seen: unknown[] = []
    const issuer = {
      enroll: async (device: Uint8Array, roles: string[], label: string) => {
        seen.push([device.length, roles, label])
        return pack
      },
    }
    const { token } = offers.create(['cashier'], 'Caisse jardin')
    const device = 'ab'.repeat(32)
    await expect(offers.redeem({ token, device: 'nothex' }, issuer)).rejects.toMatchObject({
      name: 'InvalidRequestError',
    })
    const again = offers.create(['door'], 'Porte')
    expect(await offers.redeem({ token: again.token, device }, issuer)).toBe(pack)
    await expect(offers.redeem({ token: again.token, device }, issuer)).rejects.toMatchObject({
      name: 'NotFoundError',
    })
    now += 11 * 60_000
    await expect(offers.redeem({ token, device }, issuer)).rejects.toMatchObject({ name: 'NotFoundError' })
    expect(seen).toEqual([[32, ['door'], 'Porte']])
  })
})
