// Canonical encoding: anything that decodes re-encodes to the same bytes; garbage only ever raises
// LedgerDecodeError. Fixed seed, printed on failure.
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { Reader, Writer } from './bytes.ts'
import {
  decodeSigned,
  decodeSignedHeader,
  encodeRecordUnsigned,
  encodeStatementUnsigned,
  LedgerDecodeError,
} from './mod.ts'
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

  it('the header read (sync) agrees with the full decode wherever that succeeds, and fails where the envelope does', () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
        (which, edits) => {
          const bytes = samples[which % samples.length]!.slice()
          for (const [at, v] of edits) bytes[at % bytes.length] = v
          let d: ReturnType<typeof decodeSigned> | undefined
          try {
            d = decodeSigned(bytes)
          } catch (err) {
            expect(err).toBeInstanceOf(LedgerDecodeError)
          }
          let h: ReturnType<typeof decodeSignedHeader> | undefined
          try {
            h = decodeSignedHeader(bytes)
          } catch (err) {
            expect(err).toBeInstanceOf(LedgerDecodeError)
            // what the header read refuses, the full decode refuses too
            expect(d).toBeUndefined()
          }
          if (!d || !h) return
          expect(h.type).toBe(d.type)
          expect(h.hash).toEqual(d.hash)
          if (h.type === 'record' && d.type === 'record') {
            expect(h.device).toEqual(d.record.device)
            expect(h.deviceSeq).toBe(d.record.deviceSeq)
            expect(h.devicePrev).toEqual(d.record.devicePrev)
          }
        },
      ),
      { seed: SEED, numRuns: 2000 },
    )
  })
})

describe('Reader.string', () => {
  // short ASCII strings are read without TextDecoder: every string must still read back as the fatal
  // UTF-8 decoder reads it, and bytes that are not UTF-8 must still be refused
  const fatal = new TextDecoder('utf-8', { fatal: true })
  const read = (bytes: Uint8Array, max = 64) => {
    const w = new Writer()
    w.bytes(bytes)
    return new Reader(w.finish()).string(max)
  }
  const outcome = (f: () => string) => {
    try {
      return f()
    } catch (err) {
      return err instanceof LedgerDecodeError ? `error ${err.code}` : `other ${String(err)}`
    }
  }

  it('reads any bytes as the fatal UTF-8 decoder does (or refuses them as bad-utf8)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => new TextEncoder().encode(s)),
          fc.uint8Array({ maxLength: 40 }),
          fc.uint8Array({ maxLength: 40, max: 0x7f }),
        ),
        (bytes) => {
          const expected = outcome(() => {
            try {
              return fatal.decode(bytes)
            } catch {
              throw new LedgerDecodeError('bad-utf8')
            }
          })
          expect(outcome(() => read(bytes))).toBe(expected)
        },
      ),
      { seed: SEED, numRuns: 2000 },
    )
  })

  it('checks the length bound before the bytes, and refuses a truncated string', () => {
    expect(outcome(() => read(new TextEncoder().encode('EUR'), 2))).toBe('error too-long')
    const w = new Writer()
    w.uint(5).raw(new TextEncoder().encode('EUR'))
    expect(outcome(() => new Reader(w.finish()).string(64))).toBe('error truncated')
    expect(read(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]))).toBe(
      fatal.decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])),
    )
  })
})
