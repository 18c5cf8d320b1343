// The index's record entries as columns (struct of arrays) instead of one object per record. At 200k
// records a RecordEntry object (15 fields, 8 bytes each without pointer compression) plus its Map slot cost
// ~170 bytes of V8 heap per record (~34 MB); here a record is a row number: its key string (shared with the
// chains), numbers in typed arrays, device and card keys as numbers into a name list, and the fields only
// a few records have (decoded record in flight, error, wait, transfer's second position, tip balance) in
// maps by row. ~60 bytes a record, and typed arrays are not scanned by the GC.
// `get` returns a small view object whose fields read and write the row: code written against plain
// RecordEntry objects works unchanged (a view stays valid; two views of one key see the same row).
import type { Balances } from './balances.ts'
import { RECORD_KIND_CODES } from './codec.ts'
import type { LedgerRuleError } from './errors.ts'
import type { CardPos, RecordEntry, Status } from './index-state.ts'
import type { LedgerRecord } from './types.ts'

type Kind = RecordEntry['kind']
const STATUS_OF: Status[] = ['verifying', 'pending', 'valid', 'rejected', 'covered']
const KIND_OF: Kind[] = [null, 'anchor', ...(Object.keys(RECORD_KIND_CODES) as Kind[])]
const KIND_CODE: Record<string, number> = Object.fromEntries(KIND_OF.slice(1).map((k, i) => [k, i + 1]))
const SIG_OK = 8
const STATUS_MASK = 7
const NONE = -1

// set for every record several times: a switch on interned strings, not a map lookup
function statusCode(s: Status): number {
  switch (s) {
    case 'verifying':
      return 0
    case 'pending':
      return 1
    case 'valid':
      return 2
    case 'rejected':
      return 3
    case 'covered':
      return 4
    default:
      throw new TypeError(`unknown entry status ${String(s)}`)
  }
}

function kindCode(k: Kind): number {
  const c = k === null ? 0 : KIND_CODE[k]
  if (c === undefined) throw new TypeError(`unknown entry kind ${String(k)}`)
  return c
}

// Record keys are SHA-256 outputs (32 latin1 chars, uniform): eight chars mixed are a good slot hash. A
// key a peer names (a predecessor, a void's target) may be anything: a collision only lengthens a probe.
function slotHash(k: string): number {
  const n = k.length
  if (n < 8) {
    let h = n
    for (let i = 0; i < n; i++) h = Math.imul(h ^ k.charCodeAt(i), 0x9e3779b1)
    return h >>> 0
  }
  const a = k.charCodeAt(0) | (k.charCodeAt(1) << 8) | (k.charCodeAt(2) << 16) | (k.charCodeAt(3) << 24)
  const b = k.charCodeAt(4) | (k.charCodeAt(5) << 8) | (k.charCodeAt(6) << 16) | (k.charCodeAt(7) << 24)
  return (a ^ Math.imul(b, 0x9e3779b1)) >>> 0
}

export class EntryTable {
  // columns (replaced when they grow: read them through the table), allocated to the capacity
  readonly keys: string[]
  ref: Float64Array // arena references pass 2^31 beyond 2 GiB of records
  len: Int32Array
  bits: Uint8Array // status (3 bits) | sigOk
  kind: Uint8Array
  device: Int32Array // name number
  deviceSeq: Float64Array
  card1: Int32Array // name number, -1 = none
  seq1: Float64Array
  // object fields set and cleared for most records on their way (a Map by row churned: 2-3 us a record)
  readonly rec: (LedgerRecord | null)[]
  readonly waitingFor: (string | null)[]
  readonly after1: (Balances | null)[]
  // fields few rows ever have, by row
  readonly error = new Map<number, LedgerRuleError>()
  readonly pos2 = new Map<number, CardPos>()
  // device and card keys, each stored once
  readonly names: string[] = []
  readonly #nameOf = new Map<string, number>()
  // row + 1 of the key in each slot, 0 = empty; kept at most half full
  #slots: Int32Array
  #capacity: number
  #lastName: string | undefined
  #lastNumber = 0
  #count = 0

  constructor(capacity = 1024) {
    this.#capacity = Math.max(16, capacity)
    const c = this.#capacity
    this.keys = new Array<string>(c).fill('')
    this.rec = new Array<LedgerRecord | null>(c).fill(null)
    this.waitingFor = new Array<string | null>(c).fill(null)
    this.after1 = new Array<Balances | null>(c).fill(null)
    this.ref = new Float64Array(c)
    this.len = new Int32Array(c)
    this.bits = new Uint8Array(c)
    this.kind = new Uint8Array(c)
    this.device = new Int32Array(c)
    this.deviceSeq = new Float64Array(c)
    this.card1 = new Int32Array(c)
    this.seq1 = new Float64Array(c)
    let slots = 64
    while (slots < c * 2) slots *= 2
    this.#slots = new Int32Array(slots)
    this.nameNumber('') // name 0: the device of an entry not yet verified (new rows start there)
  }

  get size(): number {
    return this.#count
  }

  /** Makes room for `n` rows in all (a restore knows how many come: no growing copies on the way). */
  reserve(n: number): void {
    if (n > this.#capacity) this.#grow(n)
  }

  /** The row of `key`, or -1. */
  rowOf(key: string): number {
    const slots = this.#slots
    const mask = slots.length - 1
    for (let s = slotHash(key) & mask; ; s = (s + 1) & mask) {
      const v = slots[s]!
      if (v === 0) return NONE
      if (this.keys[v - 1] === key) return v - 1
    }
  }

  get(key: string): RecordEntry | undefined {
    const row = this.rowOf(key)
    return row === NONE ? undefined : new EntryRow(this, row)
  }

  /** Stores `e` under `key` (a new row, or over the key's row); returns the row's view, to use from then on. */
  set(key: string, e: RecordEntry): RecordEntry {
    let row = this.rowOf(key)
    if (row === NONE) {
      row = this.#count
      // large tables grow by a quarter (each growth leaves the old columns to collect and the new ones
      // partly empty: at 200k rows half again would be ~7 MB unused)
      if (row >= this.#capacity) this.#grow(Math.ceil(this.#capacity * (this.#capacity < 65536 ? 1.5 : 1.25)))
      this.keys[row] = key
      this.#count++
      this.#place(row)
    }
    // columns written directly (every ingested record comes through here)
    this.ref[row] = e.ref
    this.len[row] = e.len
    this.bits[row] = statusCode(e.status) | (e.sigOk ? SIG_OK : 0)
    this.kind[row] = kindCode(e.kind)
    this.device[row] = e.device === '' ? 0 : this.nameNumber(e.device)
    this.deviceSeq[row] = e.deviceSeq
    this.card1[row] = e.card1 === null ? NONE : this.nameNumber(e.card1)
    this.seq1[row] = e.seq1
    this.rec[row] = e.rec
    this.waitingFor[row] = e.waitingFor
    this.after1[row] = e.after1
    const view = new EntryRow(this, row)
    view.error = e.error
    view.pos2 = e.pos2
    return view
  }

  /** Every row's view, in insertion order. */
  *values(): IterableIterator<RecordEntry> {
    for (let row = 0; row < this.#count; row++) yield new EntryRow(this, row)
  }

  /** The number of a device or card key (each stored once). */
  nameNumber(name: string): number {
    // consecutive records mostly name one device (a page): no map lookup then
    if (name === this.#lastName) return this.#lastNumber
    let n = this.#nameOf.get(name)
    if (n === undefined) {
      n = this.names.length
      this.names.push(name)
      this.#nameOf.set(name, n)
    }
    this.#lastName = name
    this.#lastNumber = n
    return n
  }

  #place(row: number): void {
    const slots = this.#slots
    const mask = slots.length - 1
    let s = slotHash(this.keys[row]!) & mask
    while (slots[s] !== 0) s = (s + 1) & mask
    slots[s] = row + 1
  }

  #grow(capacity: number): void {
    const n = this.#count
    for (const a of [this.keys, this.rec, this.waitingFor, this.after1] as unknown[][]) {
      a.length = capacity
      a.fill(a === this.keys ? '' : null, n)
    }
    const copy = <T extends Int32Array | Uint8Array | Float64Array>(a: T, make: (c: number) => T): T => {
      const b = make(capacity)
      b.set(a.subarray(0, n))
      return b
    }
    this.ref = copy(this.ref, (c) => new Float64Array(c))
    this.len = copy(this.len, (c) => new Int32Array(c))
    this.bits = copy(this.bits, (c) => new Uint8Array(c))
    this.kind = copy(this.kind, (c) => new Uint8Array(c))
    this.device = copy(this.device, (c) => new Int32Array(c))
    this.deviceSeq = copy(this.deviceSeq, (c) => new Float64Array(c))
    this.card1 = copy(this.card1, (c) => new Int32Array(c))
    this.seq1 = copy(this.seq1, (c) => new Float64Array(c))
    this.#capacity = capacity
    let slots = this.#slots.length
    while (slots < capacity * 2) slots *= 2
    if (slots > this.#slots.length) {
      this.#slots = new Int32Array(slots)
      for (let row = 0; row < n; row++) this.#place(row)
    }
  }
}

/** A row of an EntryTable seen as a RecordEntry: every field reads and writes the table. */
class EntryRow implements RecordEntry {
  readonly #t: EntryTable
  readonly #row: number

  constructor(t: EntryTable, row: number) {
    this.#t = t
    this.#row = row
  }

  get key(): string {
    return this.#t.keys[this.#row]!
  }

  get ref(): number {
    return this.#t.ref[this.#row]!
  }

  set ref(v: number) {
    this.#t.ref[this.#row] = v
  }

  get len(): number {
    return this.#t.len[this.#row]!
  }

  set len(v: number) {
    this.#t.len[this.#row] = v
  }

  get status(): Status {
    return STATUS_OF[this.#t.bits[this.#row]! & STATUS_MASK]!
  }

  set status(s: Status) {
    const bits = this.#t.bits
    bits[this.#row] = (bits[this.#row]! & ~STATUS_MASK) | statusCode(s)
  }

  get sigOk(): boolean {
    return (this.#t.bits[this.#row]! & SIG_OK) !== 0
  }

  set sigOk(v: boolean) {
    const bits = this.#t.bits
    bits[this.#row] = v ? bits[this.#row]! | SIG_OK : bits[this.#row]! & ~SIG_OK
  }

  get kind(): Kind {
    return KIND_OF[this.#t.kind[this.#row]!]!
  }

  set kind(k: Kind) {
    this.#t.kind[this.#row] = kindCode(k)
  }

  get device(): string {
    return this.#t.names[this.#t.device[this.#row]!]!
  }

  set device(d: string) {
    const t = this.#t
    if (t.names[t.device[this.#row]!] !== d) t.device[this.#row] = t.nameNumber(d)
  }

  get deviceSeq(): number {
    return this.#t.deviceSeq[this.#row]!
  }

  set deviceSeq(v: number) {
    this.#t.deviceSeq[this.#row] = v
  }

  get card1(): string | null {
    const n = this.#t.card1[this.#row]!
    return n === NONE ? null : this.#t.names[n]!
  }

  set card1(c: string | null) {
    this.#t.card1[this.#row] = c === null ? NONE : this.#t.nameNumber(c)
  }

  get seq1(): number {
    return this.#t.seq1[this.#row]!
  }

  set seq1(v: number) {
    this.#t.seq1[this.#row] = v
  }

  get rec(): LedgerRecord | null {
    return this.#t.rec[this.#row]!
  }

  set rec(r: LedgerRecord | null) {
    this.#t.rec[this.#row] = r
  }

  get error(): LedgerRuleError | null {
    return this.#t.error.get(this.#row) ?? null
  }

  set error(e: LedgerRuleError | null) {
    setOrDelete(this.#t.error, this.#row, e)
  }

  get waitingFor(): string | null {
    return this.#t.waitingFor[this.#row]!
  }

  set waitingFor(w: string | null) {
    this.#t.waitingFor[this.#row] = w
  }

  get after1(): Balances | null {
    return this.#t.after1[this.#row]!
  }

  set after1(b: Balances | null) {
    this.#t.after1[this.#row] = b
  }

  get pos2(): CardPos | null {
    return this.#t.pos2.get(this.#row) ?? null
  }

  set pos2(p: CardPos | null) {
    setOrDelete(this.#t.pos2, this.#row, p)
  }
}

function setOrDelete<T>(m: Map<number, T>, row: number, v: T | null): void {
  if (v !== null) m.set(row, v)
  else if (m.size > 0) m.delete(row)
}
