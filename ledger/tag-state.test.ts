import { beforeAll, describe, expect, it } from 'vitest'
import {
  checkPresentedTagState,
  decodeTagState,
  LedgerDecodeError,
  pickCurrentTagState,
  signTagState,
  TAG_STATE_MAX_BYTES,
  tagCardId,
  verifyTagState,
} from './mod.ts'
import { type Kit, makeKit } from './test-kit.ts'

let kit: Kit
beforeAll(async () => {
  kit = await makeKit('tag-state')
})

const uid7 = new Uint8Array([0x04, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6])

describe('tag card state encoding', () => {
  it('fits in 200 bytes with 4 assets at extreme amounts, twice in an NTAG215 with room', async () => {
    const cafe = kit.fx.venues[0]!
    const s = await signTagState(
      {
        card: tagCardId(uid7),
        cardSeq: 0xffffffff,
        head: new Uint8Array(32).fill(0xab),
        time: Date.UTC(2099, 0, 1),
        balances: [
          { asset: 'EUR', amount: Number.MAX_SAFE_INTEGER },
          { asset: 'GONETTE', amount: -Number.MAX_SAFE_INTEGER },
          { asset: cafe.assets.gift, amount: 123_456_789 },
          { asset: cafe.assets.time, amount: 1 },
        ],
      },
      cafe.cashier.key,
    )
    expect(s.bytes.length).toBeLessThanOrEqual(TAG_STATE_MAX_BYTES)
    // two slots of (state + the driver's small header) inside 504 user bytes
    expect(2 * (s.bytes.length + 16)).toBeLessThan(504)
    const state = await verifyTagState(s.bytes, kit.index)
    expect(state.balances).toEqual(expect.arrayContaining(s.state.balances))
    expect(state.cardSeq).toBe(0xffffffff)
  })

  it('refuses a tampered state, an uncertified signer, a door scanner and an unknown asset', async () => {
    const cafe = kit.fx.venues[0]!
    const base = {
      card: tagCardId(uid7),
      cardSeq: 3,
      head: new Uint8Array(32),
      time: 1,
      balances: [{ asset: 'EUR', amount: 500 }],
    }
    const good = await signTagState(base, cafe.cashier.key)
    const tampered = good.bytes.slice()
    tampered[10]! ^= 1 // cardSeq 3 -> 2 (version, 9-byte card id, then cardSeq)
    await expect(verifyTagState(tampered, kit.index)).rejects.toMatchObject({ rule: 'signature' })
    const { keyPairFromLabel } = await import('./crypto.ts')
    const stranger = await signTagState(base, await keyPairFromLabel('stranger-till'))
    await expect(verifyTagState(stranger.bytes, kit.index)).rejects.toMatchObject({ rule: 'tag-signer' })
    const door = await signTagState(base, cafe.door.key)
    await expect(verifyTagState(door.bytes, kit.index)).rejects.toMatchObject({ rule: 'tag-signer' })
    expect(() => decodeTagState(good.bytes, () => undefined)).toThrow(
      expect.objectContaining({ rule: 'unknown-asset' }),
    )
    expect(() => decodeTagState(good.bytes.subarray(0, 20), () => 'EUR')).toThrow(LedgerDecodeError)
  })
})

describe('presented state rules', () => {
  it('rollback, fork, current, adopt', async () => {
    const k = await makeKit('tag-rules')
    const cafe = k.fx.venues[0]!
    const card = k.fx.tagCards[0]!
    const w = k.fx.writer(cafe.cashier)
    const r1 = await k.topUp(w, card, 1000)
    const r2 = await k.topUp(w, card, 500)
    await k.ingest(r1, r2)
    const state = async (cardSeq: number, head: Uint8Array) =>
      (
        await signTagState(
          { card, cardSeq, head, time: 1, balances: [{ asset: 'EUR', amount: 1 }] },
          cafe.cashier.key,
        )
      ).state
    const old = await state(1, r1.hash)
    expect(() => checkPresentedTagState(old, k.index)).toThrow(
      expect.objectContaining({ rule: 'tag-rollback' }),
    )
    const other = await state(2, new Uint8Array(32).fill(7))
    expect(() => checkPresentedTagState(other, k.index)).toThrow(
      expect.objectContaining({ rule: 'tag-fork' }),
    )
    expect(checkPresentedTagState(await state(2, r2.hash), k.index)).toEqual({ action: 'current' })
    expect(checkPresentedTagState(await state(3, new Uint8Array(32).fill(9)), k.index)).toEqual({
      action: 'adopt',
    })
    const rich = (
      await signTagState(
        { card, cardSeq: 4, head: r2.hash, time: 1, balances: [{ asset: 'EUR', amount: 15_001 }] },
        cafe.cashier.key,
      )
    ).state
    expect(() => checkPresentedTagState(rich, k.index)).toThrow(
      expect.objectContaining({ rule: 'offline-ceiling' }),
    )
    expect(pickCurrentTagState([old, null, await state(2, r2.hash)])!.cardSeq).toBe(2)
    expect(pickCurrentTagState([null, undefined])).toBeNull()
  })
})

describe('revoked signer', () => {
  it('a state written by a revoked till is refused', async () => {
    const k = await makeKit('tag-revoked')
    const cafe = k.fx.venues[0]!
    const s = await signTagState(
      { card: tagCardId(uid7), cardSeq: 1, head: new Uint8Array(32), time: 1, balances: [] },
      cafe.cashier.key,
    )
    expect((await verifyTagState(s.bytes, k.index)).cardSeq).toBe(1)
    const { signStatement } = await import('./sign.ts')
    await k.index.ingest(
      await signStatement(
        {
          kind: 'device-revocation',
          issuer: cafe.key.publicKey,
          time: 0,
          device: cafe.cashier.key.publicKey,
          cutoffSeq: 0,
          reason: 'stolen',
        },
        cafe.key,
      ),
    )
    await expect(verifyTagState(s.bytes, k.index)).rejects.toMatchObject({ rule: 'device-revoked' })
  })
})
