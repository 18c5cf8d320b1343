// A till's card work for one payment, with the ledger's real card state and keys: used by the tap bench
// and by the ledger integration test. I/O time is measured apart so the software cost can be reported.
import {
  cardSignatureMessage,
  createFixture,
  type Fixture,
  type KeyPair,
  LedgerIndex,
  sha256,
  signTagState,
  type TagCardState,
  tagCardId,
  verifySignature,
  verifyTagState,
} from '../../ledger/mod.ts'
import { getUidApdu, responseData } from '../apdu.ts'
import type { ReaderLimits } from '../cards/ntag215.ts'
import { SigningCardDriver } from '../drivers/signing-card.ts'
import { TagCardDriver } from '../drivers/tag-card.ts'
import type { CardChannel } from '../transport.ts'

/** Wraps a channel to count APDUs and the time spent waiting for the card. */
export class TimedChannel implements CardChannel {
  ioMs = 0
  apdus = 0
  readonly memo = new Map<string, unknown>()
  constructor(private readonly inner: CardChannel) {}
  get reader() {
    return this.inner.reader
  }
  get uid() {
    return this.inner.uid
  }
  get kind() {
    return this.inner.kind
  }
  get atr() {
    return this.inner.atr
  }
  get present() {
    return this.inner.present
  }
  get apduCount() {
    return this.apdus
  }
  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    const t = performance.now()
    try {
      return await this.inner.transmit(apdu)
    } finally {
      this.ioMs += performance.now() - t
      this.apdus++
    }
  }
}

export interface TillContext {
  fixture: Fixture
  index: LedgerIndex
  cashier: KeyPair
  tagDriver: TagCardDriver<TagCardState>
  signingDriver: SigningCardDriver
}

export async function createTillContext(limits?: ReaderLimits): Promise<TillContext> {
  const fixture = await createFixture('lakou-tap')
  const index = new LedgerIndex({ federation: fixture.federation.publicKey })
  await index.ingestMany(fixture.statements)
  const tagDriver = new TagCardDriver<TagCardState>({
    validator: { verify: (bytes) => verifyTagState(bytes, index) },
    ...(limits ? { limits } : {}),
  })
  return {
    fixture,
    index,
    cashier: fixture.venues[0]!.cashier.key,
    tagDriver,
    signingDriver: new SigningCardDriver(),
  }
}

export interface PaymentResult {
  apdus: number
  totalMs: number
  ioMs: number
  softwareMs: number
}

/** 4 assets, as the ledger budgets for. */
function initialBalances(ctx: TillContext) {
  const cafe = ctx.fixture.venues[0]!
  return [
    { asset: 'EUR', amount: 50_000 },
    { asset: 'GONETTE', amount: 2_000 },
    { asset: cafe.assets.gift, amount: 3 },
    { asset: cafe.assets.loyalty, amount: 120 },
  ]
}

/** Writes a first (top-up) state to a blank tag card. */
export async function issueTagCard(ctx: TillContext, channel: CardChannel): Promise<void> {
  const signed = await signTagState(
    {
      card: tagCardId(channel.uid),
      cardSeq: 1,
      head: sha256(channel.uid),
      time: 0,
      balances: initialBalances(ctx),
    },
    ctx.cashier,
  )
  await ctx.tagDriver.write(channel, signed.bytes)
}

/**
 * One tag-card payment as a till does it on a fresh tap: GET UID, read both slots, verify the current
 * state (the ledger's validator), debit, sign the new state with the till's key, write the older slot,
 * read back. Returns the figures of this payment.
 */
export async function tagPayment(
  ctx: TillContext,
  tapped: CardChannel,
  amount: number,
): Promise<PaymentResult> {
  const channel = new TimedChannel(tapped)
  const t0 = performance.now()
  const uid = responseData(await channel.transmit(getUidApdu()))
  const { current } = await ctx.tagDriver.read(channel)
  if (!current) throw new Error('no valid state on the card')
  const s = current.state
  const balances = s.balances.map((b) => (b.asset === 'EUR' ? { ...b, amount: b.amount - amount } : b))
  const head = sha256(new Uint8Array([...s.head, ...uid]))
  const signed = await signTagState(
    { card: s.card, cardSeq: s.cardSeq + 1, head, time: Date.now(), balances },
    ctx.cashier,
  )
  await ctx.tagDriver.write(channel, signed.bytes)
  const totalMs = performance.now() - t0
  return { apdus: channel.apdus, totalMs, ioMs: channel.ioMs, softwareMs: totalMs - channel.ioMs }
}

/**
 * One signing-card payment on a fresh tap: GET UID, SELECT, GET PUBLIC KEY (key and counter), hash the
 * record, SIGN with cardSeq = counter + 1, and verify the card's signature before accepting it.
 */
export async function signingPayment(
  ctx: TillContext,
  tapped: CardChannel,
  amount: number,
): Promise<PaymentResult> {
  const channel = new TimedChannel(tapped)
  const t0 = performance.now()
  await channel.transmit(getUidApdu())
  const { publicKey, counter } = await ctx.signingDriver.getPublicKey(channel)
  const cardSeq = counter + 1
  const record = new Uint8Array(160)
  new DataView(record.buffer).setUint32(0, cardSeq)
  new DataView(record.buffer).setUint32(4, amount)
  record.set(publicKey, 8)
  const hash = sha256(record)
  const signature = await ctx.signingDriver.sign(channel, cardSeq, hash)
  if (!(await verifySignature(publicKey, cardSignatureMessage(cardSeq, hash), signature))) {
    throw new Error('the card signature does not verify')
  }
  const totalMs = performance.now() - t0
  return { apdus: channel.apdus, totalMs, ioMs: channel.ioMs, softwareMs: totalMs - channel.ioMs }
}
