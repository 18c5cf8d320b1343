// The tag driver with the ledger's real card state: signed by a certified till, verified by the ledger's
// verifyTagState as the injected validator, on the simulated reader and on pcscd + vpcd.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keyPairFromLabel, signTagState, tagCardId } from '../../ledger/mod.ts'
import { VirtualNtag215 } from '../cards/ntag215.ts'
import { createTillContext, issueTagCard, type TillContext, tagPayment } from '../testing/payments.ts'
import { pcscdAvailable } from '../testing/require-pcscd.ts'
import { type CardRig, PcscdRig, SimRig } from '../testing/rigs.ts'

function suite(rig: CardRig) {
  describe(`ledger card state on a tag card over ${rig.name}`, () => {
    let ctx: TillContext
    beforeAll(async () => {
      ctx = await createTillContext()
      await rig.start()
    })
    afterAll(() => rig.stop())

    it('pays three times with re-presentations; the card carries the signed, debited state', async () => {
      const card = new VirtualNtag215()
      await issueTagCard(ctx, await rig.present(card))
      for (let i = 0; i < 3; i++) {
        const r = await tagPayment(ctx, await rig.present(card), 350)
        expect(r.apdus).toBeLessThanOrEqual(6)
      }
      const { current } = await ctx.tagDriver.read(await rig.present(card))
      expect(current?.state.cardSeq).toBe(4)
      expect(current?.state.card).toEqual(tagCardId(card.uid))
      expect(current?.state.balances.find((b) => b.asset === 'EUR')?.amount).toBe(50_000 - 3 * 350)
    })

    it('ignores a newer state signed by an uncertified key and keeps the valid one current', async () => {
      const card = new VirtualNtag215()
      let channel = await rig.present(card)
      await issueTagCard(ctx, channel)
      const forged = await signTagState(
        {
          card: tagCardId(card.uid),
          cardSeq: 9,
          head: new Uint8Array(32),
          time: 0,
          balances: [{ asset: 'EUR', amount: 1e6 }],
        },
        await keyPairFromLabel('stranger-till'),
      )
      await ctx.tagDriver.write(channel, forged.bytes)
      channel = await rig.present(card)
      const r = await ctx.tagDriver.read(channel)
      expect(r.current?.state.cardSeq).toBe(1)
      expect(r.rejected.some((x) => /tag-signer|not a certified till/.test(x.reason))).toBe(true)
    })
  })
}

suite(new SimRig())
if (pcscdAvailable()) suite(new PcscdRig())
