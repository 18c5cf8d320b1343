// Canonical encoding: anything that decodes re-encodes to the same bytes; garbage only ever raises
// LedgerDecodeError. Fixed seed, printed on failure.
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { decodeSigned, encodeRecordUnsigned, encodeStatementUnsigned, LedgerDecodeError } from './mod.ts'
import type { SignedRecord } from './sign.ts'
import { type Kit, makeKit } from './test-kit.ts'

const SEED = Number(process.env.LEDGER_PROPERTY_SEED ?? 20261121)
let kit: Kit
let samples: Uint8Array[]

beforeAll(async () => {
  kit = await makeKit('codec')
  const cafe = kit.fx.venues[0]!
  const w = kit.fx.writer(cafe.cashier)
  const card = kit.fx.tagCards[0]!
  const recs: SignedRecord[] = [await kit.topUp(w, card, 1234)]
  recs.push(
    await w.append({
      kind: 'sale',
      chain: kit.chain(card),
      lines: [
        { product: 'bière', quantity: 2, unitPrice: 350, asset: 'EUR', vatRate: 2000 },
        { product: 'consigne', quantity: -1, unitPrice: 100, asset: 'EUR', vatRate: 0 },
      ],
      payments: [{ method: 'card', asset: 'EUR', amount: 600 }],
    }),
    await w.append({ kind: 'ticket-issue', ticket: 'T', event: 'E', ticketType: 'std', card, validUntil: 5 }),
    await w.append({
      kind: 'card-link',
      card,
      venue: cafe.key.publicKey,
      payload: new Uint8Array([1, 2, 3]),
    }),
    await w.append({ kind: 'till-close-out', counted: [{ asset: 'EUR', amount: 10 }] }),
  )
  samples = [...recs.map((r) => r.bytes), ...kit.fx.statements.slice(0, 6)]
})

function reencode(bytes: Uint8Array): Uint8Array {
  const d = decodeSigned(bytes)
  return d.type === 'record' ? encodeRecordUnsigned(d.record) : encodeStatementUnsigned(d.statement)
}

describe(`codec (seed ${SEED})`, () => {
  it('every sample round-trips to identical unsigned bytes', () => {
    for (const b of samples) expect(reencode(b)).toEqual(decodeSigned(b).unsigned)
  })

  it('mutated and random bytes: LedgerDecodeError or a canonical decode, never anything else', () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.uint8Array({ maxLength: 300 }),
        (which, edits, random) => {
          const base = samples[which % samples.length]!.slice()
          for (const [at, v] of edits) base[at % base.length] = v
          for (const bytes of [base, random]) {
            try {
              const d = decodeSigned(bytes)
              expect(reencode(bytes)).toEqual(d.unsigned)
            } catch (err) {
              expect(err).toBeInstanceOf(LedgerDecodeError)
            }
          }
        },
      ),
      { seed: SEED, numRuns: 3000 },
    )
  })
})
