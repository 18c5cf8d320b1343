// EntryTable against the straightforward store it replaces (a Map of plain RecordEntry objects): random
// sequences of new rows, rows written over, field writes through views and reads, with keys that share
// their slot hash (same first 8 chars) and a small start capacity so the columns and slots grow.
// Fixed seed, printed on failure (LEDGER_ENTRY_TABLE_SEED / LEDGER_ENTRY_TABLE_RUNS to change).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { EntryTable } from './entry-table.ts'
import { LedgerRuleError } from './errors.ts'
import type { RecordEntry, Status } from './index-state.ts'
import type { LedgerRecord } from './types.ts'

const SEED = Number(process.env.LEDGER_ENTRY_TABLE_SEED ?? 20261122)
const RUNS = Number(process.env.LEDGER_ENTRY_TABLE_RUNS ?? 60)

const STATUSES: Status[] = ['verifying', 'pending', 'valid', 'rejected', 'covered']
const KINDS: RecordEntry['kind'][] = [null, 'anchor', 'top-up', 'sale', 'transfer', 'void', 'checkpoint']
const NAMES = ['', 'device-a', 'device-b', 'card-1', 'card-2', 'card-3']
const PREFIX = 'sameslot' // 8 chars: keys starting with it all probe from one slot

const key = fc.oneof(
  fc.string({
    minLength: 32,
    maxLength: 32,
    unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)),
  }),
  fc.string({ minLength: 24, maxLength: 24 }).map((s) => PREFIX + s),
  fc.string({ maxLength: 7 }),
)
const rec = { kind: 'sale' } as unknown as LedgerRecord
const balances = fc.constantFrom(null, ['eur', 5], ['eur', -3, 'gift', 2])
const pos2 = fc.option(
  fc.record({ card: fc.constantFrom(...NAMES), cardSeq: fc.nat(1e6), after: balances }),
  { nil: null },
)

const fieldWrite = fc.oneof(
  fc.record({ f: fc.constant('ref' as const), v: fc.integer({ min: -50, max: 1 << 30 }) }),
  fc.record({ f: fc.constant('len' as const), v: fc.nat(1 << 20) }),
  fc.record({ f: fc.constant('status' as const), v: fc.constantFrom(...STATUSES) }),
  fc.record({ f: fc.constant('sigOk' as const), v: fc.boolean() }),
  fc.record({ f: fc.constant('kind' as const), v: fc.constantFrom(...KINDS) }),
  fc.record({ f: fc.constant('device' as const), v: fc.constantFrom(...NAMES) }),
  fc.record({ f: fc.constant('deviceSeq' as const), v: fc.oneof(fc.nat(100), fc.constant(2 ** 53 - 1)) }),
  fc.record({ f: fc.constant('card1' as const), v: fc.constantFrom(null, ...NAMES) }),
  fc.record({ f: fc.constant('seq1' as const), v: fc.nat(1e9) }),
  fc.record({ f: fc.constant('rec' as const), v: fc.constantFrom(null, rec) }),
  fc.record({
    f: fc.constant('waitingFor' as const),
    v: fc.constantFrom(null, 'device-not-certified', '\u0000x'),
  }),
  fc.record({ f: fc.constant('after1' as const), v: balances }),
  fc.record({ f: fc.constant('pos2' as const), v: pos2 }),
  fc.record({
    f: fc.constant('error' as const),
    v: fc.constantFrom(null, new LedgerRuleError('signature', 'signature does not verify')),
  }),
)

const entry = fc.record({
  ref: fc.integer({ min: -5, max: 1 << 30 }),
  len: fc.nat(4096),
  status: fc.constantFrom(...STATUSES),
  sigOk: fc.boolean(),
  kind: fc.constantFrom(...KINDS),
  device: fc.constantFrom(...NAMES),
  deviceSeq: fc.nat(1e6),
  card1: fc.constantFrom(null, ...NAMES),
  seq1: fc.nat(1e6),
  after1: balances,
  pos2,
})

const op = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('set' as const), key, e: entry }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('write' as const), pick: fc.nat(), w: fieldWrite }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('reset' as const), pick: fc.nat(), e: entry }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('miss' as const), key }) },
)

const FIELDS = [
  'key',
  'ref',
  'len',
  'status',
  'sigOk',
  'rec',
  'error',
  'waitingFor',
  'kind',
  'device',
  'deviceSeq',
  'card1',
  'seq1',
  'after1',
  'pos2',
] as const
const plain = (e: RecordEntry) => Object.fromEntries(FIELDS.map((f) => [f, e[f]]))

describe('EntryTable', () => {
  it(`behaves as a Map of plain entries (seed ${SEED})`, () => {
    let sameSlotKeys = 0
    let grown = 0
    fc.assert(
      fc.property(fc.array(op, { minLength: 40, maxLength: 300 }), (ops) => {
        const table = new EntryTable(16)
        const model = new Map<string, RecordEntry>()
        const keys: string[] = []
        for (const o of ops) {
          if (o.op === 'set') {
            const e: RecordEntry = { key: o.key, rec: null, error: null, waitingFor: null, ...o.e }
            if (!model.has(o.key)) keys.push(o.key)
            model.set(o.key, { ...e })
            const view = table.set(o.key, e)
            expect(plain(view)).toEqual(plain(model.get(o.key)!))
          } else if (o.op === 'write' && keys.length > 0) {
            const k = keys[o.pick % keys.length]!
            const view = table.get(k)!
            const other = table.get(k)!
            ;(view as unknown as Record<string, unknown>)[o.w.f] = o.w.v
            ;(model.get(k)! as unknown as Record<string, unknown>)[o.w.f] = o.w.v
            // two views of one key are one row
            expect(plain(other)).toEqual(plain(model.get(k)!))
          } else if (o.op === 'reset' && keys.length > 0) {
            // written over (a rejected copy replaced by the genuine record): every field is the new one's
            const k = keys[o.pick % keys.length]!
            const e: RecordEntry = { key: k, rec: null, error: null, waitingFor: null, ...o.e }
            model.set(k, { ...e })
            table.set(k, e)
          } else if (o.op === 'miss') expect(table.get(o.key) === undefined).toBe(!model.has(o.key))
        }
        expect(table.size).toBe(model.size)
        expect([...table.values()].map(plain)).toEqual([...model.values()].map(plain))
        for (const [k, e] of model) expect(plain(table.get(k)!)).toEqual(plain(e))
        if (keys.filter((k) => k.startsWith(PREFIX)).length > 1) sameSlotKeys++
        if (model.size > 16) grown++
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    )
    // the generator must reach colliding probes and growth, or the equality proves little
    expect(sameSlotKeys).toBeGreaterThan(RUNS / 4)
    expect(grown).toBeGreaterThan(RUNS / 4)
  })

  it('refuses a status or kind it does not know (a typo must not be stored as another value)', () => {
    const t = new EntryTable()
    const e = t.set('k', {
      key: 'k',
      ref: 0,
      len: 0,
      status: 'valid',
      sigOk: true,
      rec: null,
      error: null,
      waitingFor: null,
      kind: 'sale',
      device: 'd',
      deviceSeq: 1,
      card1: null,
      seq1: 0,
      after1: null,
      pos2: null,
    })
    expect(() => {
      e.status = 'bogus' as Status
    }).toThrow(TypeError)
    expect(() => {
      e.kind = 'bogus' as RecordEntry['kind']
    }).toThrow(TypeError)
    expect(e.status).toBe('valid')
    expect(e.kind).toBe('sale')
  })
})
