// Local state snapshot of a LedgerIndex, for a fast restart of the node that wrote it.
// Trust assumption: the snapshot lives on the node's own disk, like its device key, so neither
// signatures nor rules are checked again on restore: the snapshot stores the index's derived state (every
// entry's status, kind, device and card positions, the per-card and per-device chains, accounts, views,
// waiting records) and the record bytes as the arena's own 1 MiB chunks, so a restore deserializes
// state instead of re-applying 200k records. A trailing SHA-256 detects corruption and the header binds
// the snapshot to the federation keys; on any failure the caller re-ingests its records.
//   snapshot := head chunks sha256(head chunks){32}
//   head     := MAGIC u8(3) u32be(head length) u32be(n) u32be(chunkLength)*n     (layout: format 3)
//               uint(n) federationKey{32}*n
//               uint(n) bytes(statement)*n
//               uint(n) (string(hash) bytes(item) u8(errorType) string(code) string(message))*n
//               u8(hasCheckpoint) [bytes(checkpoint)]
//               uint(n) value(internedKey)*n
//               uint(n) (value(card) u8(kind) value(forkSeqs) value(replacedBy))*n
//               uint(n) (value(device) value(forkSeqs) value(drawer) value(closeOuts) value(voids))*n
//               uint(n) entry*n                      (see writeEntry)
//               value(derived state field)*11        (snapshot-values.ts, in DERIVED order)
//               uint(n) bytes(largeItem)*n  uint(n) uint(chunkLength)*n
//   chunks   := the used part of each arena chunk (<= 1 MiB each)
// Format 2 was the same without the layout line. The layout lets a node read the head into one buffer and
// every chunk into its own (snapshotLayout, decodeSnapshotParts): the head (~13 MB at 200k records) is
// then freed after the restore instead of staying allocated beside the records it was read with.
// Chains (bySeq) are not written: they are rebuilt from the entries' positions.

import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import { ARENA_CHUNK, ByteArena } from './arena.ts'
import type { Balances } from './balances.ts'
import { bytesEqual, keyOf, Reader, Writer } from './bytes.ts'
import { decodeSigned, RECORD_KIND_CODES } from './codec.ts'
import { sha256 } from './crypto.ts'
import { EntryTable } from './entry-table.ts'
import { LedgerDecodeError, LedgerRuleError, LedgerSnapshotError, RULES, type Rule } from './errors.ts'
import type { CardState, DeviceState, RecordEntry, Status } from './index-state.ts'
import { ValueReader, ValueWriter } from './snapshot-values.ts'
import type { PublicKey, Statement } from './types.ts'
import type { CloseOutView, MembershipView, RejectedView, TicketView } from './views.ts'

const MAGIC = new TextEncoder().encode('LAKOU-SNAPSHOT')
const VERSION = 3
/** Bytes before the chunk lengths of the layout line: MAGIC, version, head length, chunk count. */
const LAYOUT = MAGIC.length + 1 + 4 + 4
const MAX_ITEM = 1 << 24
const MAX_TEXT = 1 << 16

/** The derived state a snapshot carries as is (field order = encoding order). */
export interface DerivedState {
  accounts: Map<string, Map<string, number>>
  cards: Map<string, CardState>
  devices: Map<string, DeviceState>
  waiters: Map<string, string | string[]>
  trustWaiters: Set<string>
  membershipMap: Map<string, MembershipView[]>
  tickets: Map<string, TicketView>
  links: Map<string, Array<{ venue: string; payload: Uint8Array; hash: string }>>
  checkpoints: string[]
  cardForks: Array<{ card: string; seq: number }>
  deviceForks: Array<{ device: string; seq: number }>
  anchorSeqs: Map<string, number>
  queue: string[]
}
// cards and devices are written apart: their chains (bySeq) are rebuilt from the entries' positions
type GenericField = Exclude<keyof DerivedState, 'cards' | 'devices'>
const DERIVED: GenericField[] = [
  'accounts',
  'waiters',
  'trustWaiters',
  'membershipMap',
  'tickets',
  'links',
  'checkpoints',
  'cardForks',
  'deviceForks',
  'anchorSeqs',
  'queue',
]
const SETS = new Set<GenericField>(['trustWaiters'])
const ARRAYS = new Set<GenericField>(['checkpoints', 'cardForks', 'deviceForks', 'queue'])

/** Everything a LedgerIndex holds (besides options and the trust context, rebuilt from statements). */
export interface IndexParts {
  federation: PublicKey[]
  statements: Map<string, { bytes: Uint8Array; statement: Statement }>
  malformed: RejectedView[]
  anchorBytes: Uint8Array | null
  arena: ByteArena
  interned: Map<string, string>
  entries: EntryTable
  derived: DerivedState
}

const STATUS_CODES: Status[] = ['pending', 'valid', 'rejected', 'covered']
const KIND_CODES: Array<RecordEntry['kind']> = [
  null,
  'anchor',
  ...(Object.keys(RECORD_KIND_CODES) as Array<keyof typeof RECORD_KIND_CODES>),
]
const STATUS_INDEX = new Map(STATUS_CODES.map((s, i) => [s, i]))
const KIND_INDEX = new Map(KIND_CODES.map((k, i) => [k, i]))
const F_SIG_OK = 1 << 2
const F_CARD1 = 1 << 3
const F_AFTER1 = 1 << 4
const F_POS2 = 1 << 5
const F_POS2_AFTER = 1 << 6
const F_ERROR = 1 << 7
const F_WAITING = 1 << 8

/** An incremental SHA-256 (Node's createHash('sha256') has this shape; the default is @noble/hashes). */
export interface Sha256Hasher {
  update(bytes: Uint8Array): unknown
  digest(): Uint8Array
}

/** The snapshot as one buffer (the concatenation of encodeSnapshotParts). */
export function encodeSnapshot(p: IndexParts): Uint8Array {
  const { head, chunks } = encodeBody(p)
  let size = head.length + 32
  for (const c of chunks) size += c.length
  const out = new Uint8Array(size)
  out.set(head)
  let o = head.length
  for (const c of chunks) {
    out.set(c, o)
    o += c.length
  }
  out.set(sha256(out.subarray(0, o)), o)
  return out
}

/**
 * The snapshot as the parts to write one after the other: the encoded state, the arena's chunks as they
 * lie (views of append-only storage, not copies) and the 32-byte SHA-256 of all before it.
 * A node writes them to its file without first copying everything into one buffer (at 200k records that
 * buffer was a ~55 MB transient at every checkpoint, on top of the index itself).
 */
export function encodeSnapshotParts(
  p: IndexParts,
  createHasher: () => Sha256Hasher = () => nobleSha256.create(),
): Uint8Array[] {
  const { head, chunks } = encodeBody(p)
  const hasher = createHasher()
  hasher.update(head)
  for (const c of chunks) hasher.update(c)
  const digest = hasher.digest()
  return [head, ...chunks, new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength)]
}

function encodeBody(p: IndexParts): { head: Uint8Array; chunks: Uint8Array[] } {
  // sized for the entries up front (~50-60 bytes each): growing by doubling left a copy of every smaller
  // buffer behind (16 MiB allocated, 8 MiB thrown away at 200k records)
  const { chunks, large } = p.arena.dump()
  const w = new Writer(Math.max(1 << 20, p.entries.size * 64)).raw(MAGIC).u8(VERSION)
  w.u32be(0) // the head length, set at the end
  w.u32be(chunks.length)
  for (const c of chunks) w.u32be(c.length)
  w.uint(p.federation.length)
  for (const k of p.federation) w.fixed(k, 32)
  w.uint(p.statements.size)
  for (const s of p.statements.values()) w.bytes(s.bytes)
  w.uint(p.malformed.length)
  for (const m of p.malformed) {
    const isRule = m.error instanceof LedgerRuleError
    const code = m.error instanceof LedgerRuleError ? m.error.rule : m.error.code
    w.string(m.hash)
      .bytes(m.bytes)
      .u8(isRule ? 1 : 0)
      .string(code)
      .string(m.error.message)
  }
  w.u8(p.anchorBytes ? 1 : 0)
  if (p.anchorBytes) w.bytes(p.anchorBytes)

  const vw = new ValueWriter(w)
  w.uint(p.interned.size)
  for (const k of p.interned.keys()) vw.string(k)
  const { cards, devices } = p.derived
  w.uint(cards.size)
  for (const [ck, c] of cards) {
    vw.string(ck)
    w.u8(c.kind === 'signing' ? 0 : 1)
    vw.value(c.forkSeqs)
    vw.value(c.replacedBy)
  }
  w.uint(devices.size)
  for (const [dk, d] of devices) {
    vw.string(dk)
    vw.value(d.forkSeqs)
    vw.value(d.drawer)
    vw.value(d.closeOuts)
    vw.value(d.voids)
  }
  // records still being verified are left out (they arrive again through sync)
  let n = 0
  for (const e of p.entries.values()) if (e.status !== 'verifying') n++
  w.uint(n)
  for (const e of p.entries.values()) if (e.status !== 'verifying') writeEntry(w, vw, e)
  for (const field of DERIVED) vw.value(p.derived[field])

  w.uint(large.length)
  for (const l of large) w.bytes(l)
  // a restored arena's last chunk may be short: every chunk's length is written
  w.uint(chunks.length)
  for (const c of chunks) w.uint(c.length)
  const head = w.view()
  new DataView(head.buffer, head.byteOffset).setUint32(MAGIC.length + 1, head.length)
  return { head, chunks }
}

function writeEntry(w: Writer, vw: ValueWriter, e: RecordEntry): void {
  // e.rec (the decoded record) is a cache: not written, decoded again from the bytes when needed
  if (e.key.length !== 32) throw new TypeError('a record key is 32 bytes')
  const status = STATUS_INDEX.get(e.status)
  if (status === undefined) throw new TypeError(`no snapshot code for status ${e.status}`)
  const waiting = e.waitingFor !== null
  const flags =
    status |
    (e.sigOk ? F_SIG_OK : 0) |
    (e.card1 !== null ? F_CARD1 : 0) |
    (e.after1 !== null ? F_AFTER1 : 0) |
    (e.pos2 !== null ? F_POS2 : 0) |
    (e.pos2?.after ? F_POS2_AFTER : 0) |
    (e.error !== null ? F_ERROR : 0) |
    (waiting ? F_WAITING : 0)
  w.uint(flags)
  w.latin1(e.key)
  w.u8(KIND_INDEX.get(e.kind)!).int(e.ref).uint(e.len)
  vw.string(e.device, 1)
  w.uint(e.deviceSeq)
  if (e.card1 !== null) vw.string(e.card1)
  w.uint(e.seq1)
  if (e.after1 !== null) writeBalances(w, vw, e.after1)
  if (e.pos2 !== null) {
    vw.string(e.pos2.card)
    w.uint(e.pos2.cardSeq)
    if (e.pos2.after) writeBalances(w, vw, e.pos2.after)
  }
  if (e.error !== null) w.u8(RULES.indexOf(e.error.rule)).string(e.error.message)
  if (waiting) vw.string(e.waitingFor!)
}

function writeBalances(w: Writer, vw: ValueWriter, b: Balances): void {
  w.uint(b.length / 2)
  for (let i = 0; i < b.length; i += 2) {
    vw.string(b[i] as string)
    w.int(b[i + 1] as number)
  }
}

/** Where a format 3 snapshot's parts lie, read from its first bytes (at least LAYOUT + 4 per chunk). */
export interface SnapshotLayout {
  headLength: number
  chunkLengths: number[]
}

/**
 * The layout of a format 3 snapshot from its first bytes, so a caller can read the head and each chunk into
 * buffers of their own; undefined when `start` is not such a snapshot's beginning or is too short to hold
 * the layout (then read the whole file and use decodeSnapshot).
 */
export function snapshotLayout(start: Uint8Array): SnapshotLayout | undefined {
  if (start.length < LAYOUT || !bytesEqual(start.subarray(0, MAGIC.length), MAGIC)) return undefined
  const r = new Reader(start)
  r.fixed(MAGIC.length)
  if (r.u8() !== VERSION) return undefined
  const headLength = r.u32be()
  const n = r.u32be()
  if (start.length < LAYOUT + 4 * n) return undefined
  const chunkLengths: number[] = []
  for (let i = 0; i < n; i++) chunkLengths.push(r.u32be())
  return { headLength, chunkLengths }
}

/**
 * Check and decode a snapshot taken under `federation`. Throws LedgerSnapshotError: 'corrupt' (hash,
 * truncation, unreadable state), 'version' (another format, e.g. format 1's record list),
 * 'federation-mismatch'. Reads formats 2 and 3.
 */
export function decodeSnapshot(bytes: Uint8Array, federation: PublicKey[]): IndexParts {
  if (!(bytes instanceof Uint8Array) || bytes.length < MAGIC.length + 1 + 32)
    throw new LedgerSnapshotError('corrupt', 'too short')
  const body = bytes.subarray(0, bytes.length - 32)
  if (!bytesEqual(sha256(body), bytes.subarray(bytes.length - 32)))
    throw new LedgerSnapshotError('corrupt', 'hash mismatch')
  if (!bytesEqual(body.subarray(0, MAGIC.length), MAGIC))
    throw new LedgerSnapshotError('corrupt', 'not a ledger snapshot')
  const version = body[MAGIC.length]
  if (version === 2) return decodeFrom(new Reader(body), MAGIC.length + 1, federation, body)
  if (version !== VERSION) throw new LedgerSnapshotError('version', `snapshot format ${version}`)
  const layout = snapshotLayout(body)
  if (!layout || layout.headLength > body.length)
    throw new LedgerSnapshotError('corrupt', 'snapshot layout unreadable')
  const chunks: Uint8Array[] = []
  let o = layout.headLength
  for (const len of layout.chunkLengths) {
    chunks.push(body.subarray(o, o + len))
    o += len
  }
  if (o !== body.length) throw new LedgerSnapshotError('corrupt', 'record bytes do not match their chunks')
  return decodeSnapshotParts(body.subarray(0, layout.headLength), chunks, federation)
}

/**
 * Decode a format 3 snapshot read in parts (its head and each chunk in a buffer of its own, as
 * snapshotLayout says), whose trailing SHA-256 the caller has checked over head and chunks while reading.
 * The chunks become the restored index's record storage (kept, not copied); the head is not kept.
 */
export function decodeSnapshotParts(
  head: Uint8Array,
  chunks: Uint8Array[],
  federation: PublicKey[],
): IndexParts {
  const layout = snapshotLayout(head)
  if (!layout) throw new LedgerSnapshotError('version', 'not a format 3 snapshot head')
  if (layout.headLength !== head.length)
    throw new LedgerSnapshotError(
      'corrupt',
      `head of ${head.length} bytes, its layout says ${layout.headLength}`,
    )
  if (
    layout.chunkLengths.length !== chunks.length ||
    layout.chunkLengths.some((l, i) => l !== chunks[i]!.length)
  )
    throw new LedgerSnapshotError('corrupt', 'record chunks do not match the layout')
  return decodeFrom(new Reader(head), LAYOUT + 4 * chunks.length, federation, chunks)
}

// The state after the version (format 2) or the layout line (format 3); `records` is the body to take the
// chunks from (format 2: they follow the state) or the chunks themselves.
function decodeFrom(
  r: Reader,
  at: number,
  federation: PublicKey[],
  records: Uint8Array | Uint8Array[],
): IndexParts {
  r.pos = at
  try {
    const keys = list(r, () => r.fixed(32).slice())
    if (keys.length !== federation.length || keys.some((k, i) => !bytesEqual(k, federation[i]!)))
      throw new LedgerSnapshotError(
        'federation-mismatch',
        'the snapshot was taken under other federation keys',
      )
    return decodeState(r, records, keys)
  } catch (err) {
    if (err instanceof LedgerDecodeError) throw new LedgerSnapshotError('corrupt', err.message)
    throw err
  }
}

function decodeState(r: Reader, records: Uint8Array | Uint8Array[], federation: PublicKey[]): IndexParts {
  const statements: IndexParts['statements'] = new Map()
  for (const s of list(r, () => r.bytes(MAX_ITEM).slice())) {
    const d = decodeSigned(s)
    if (d.type !== 'statement') throw new LedgerDecodeError('unknown-kind', 'record among statements')
    statements.set(keyOf(d.hash), { bytes: s, statement: d.statement })
  }
  const malformed = list(r, (): RejectedView => {
    const hash = r.string(MAX_TEXT)
    const item = r.bytes(MAX_ITEM).slice()
    const isRule = r.bool()
    const code = r.string(MAX_TEXT)
    const message = r.string(MAX_TEXT)
    const error = isRule ? new LedgerRuleError(ruleOf(code)) : new LedgerDecodeError(code)
    error.message = message
    return { hash, bytes: item, error }
  })
  const anchorBytes = r.bool() ? r.bytes(MAX_ITEM).slice() : null

  const vr = new ValueReader(r)
  const interned = new Map<string, string>()
  for (let i = vr.count(); i > 0; i--) {
    const k = vr.string()
    interned.set(k, k)
  }
  const cards = new Map<string, CardState>()
  for (let i = vr.count(); i > 0; i--) {
    const ck = vr.string()
    const kind = r.bool() ? 'tag' : 'signing'
    cards.set(ck, { kind, bySeq: [], forkSeqs: vr.array(), replacedBy: vr.array() })
  }
  const devices = new Map<string, DeviceState>()
  for (let i = vr.count(); i > 0; i--) {
    const dk = vr.string()
    const forkSeqs = vr.array<number>()
    const drawer = vr.map<string, number>()
    const closeOuts = vr.array<CloseOutView>()
    devices.set(dk, { bySeq: [], forkSeqs, drawer, closeOuts, voids: vr.map() })
  }
  const count = vr.count()
  // room for the records of the next hours without growing the columns (a growth copies them all)
  const entries = new EntryTable(count + Math.max(1024, count >> 4))
  const chains = { cards, devices, lastDevice: '', lastDeviceState: null as DeviceState | null }
  for (let i = count; i > 0; i--) {
    const e = readEntry(r, vr)
    entries.set(e.key, e)
    if (e.status === 'valid') placeOnChains(e, chains)
  }
  const derived = { cards, devices } as Record<keyof DerivedState, unknown>
  for (const field of DERIVED) {
    const v = vr.value()
    const ok = SETS.has(field) ? v instanceof Set : ARRAYS.has(field) ? Array.isArray(v) : v instanceof Map
    if (!ok) throw new LedgerDecodeError('snapshot-type', `${field} has the wrong type`)
    derived[field] = v
  }

  const large = list(r, () => r.bytes(MAX_ITEM))
  const lengths = list(r, () => r.uint())
  let expected = 0
  for (const len of lengths) {
    if (len > ARENA_CHUNK) throw new LedgerDecodeError('snapshot-arena', `a chunk of ${len} bytes`)
    expected += len
  }
  let chunks: Uint8Array[]
  if (Array.isArray(records)) {
    // format 3: the layout line was checked against the chunks; these lengths must agree with it too
    if (r.pos !== r.buf.length) throw new LedgerDecodeError('snapshot-arena', 'bytes after the head state')
    if (lengths.length !== records.length || lengths.some((l, i) => l !== records[i]!.length))
      throw new LedgerDecodeError('snapshot-arena', 'record bytes do not match their chunks')
    chunks = records
  } else {
    if (records.length - r.pos !== expected)
      throw new LedgerDecodeError('snapshot-arena', 'record bytes do not match their chunks')
    chunks = []
    for (let i = 0, o = r.pos; i < lengths.length; i++) {
      chunks.push(records.subarray(o, o + lengths[i]!))
      o += lengths[i]!
    }
  }
  return {
    federation,
    statements,
    malformed,
    anchorBytes,
    arena: ByteArena.fromDump(chunks, large),
    interned,
    entries,
    derived: derived as unknown as DerivedState,
  }
}

/**
 * Put a valid record or checkpoint anchor back at its device and card chain positions. Two records at
 * one position (a fork) are listed in entry order, not in the order they were committed: no view
 * depends on that order (forks are reported sorted).
 */
function placeOnChains(e: RecordEntry, chains: Chains): void {
  const { cards } = chains
  if (e.kind !== 'anchor') place(deviceChain(chains, e.device).bySeq, e.deviceSeq, e.key)
  else if (e.device !== '') deviceChain(chains, e.device).bySeq[e.deviceSeq] = e.key
  if (e.card1 !== null) place(chain(cards, e.card1).bySeq, e.seq1, e.key)
  if (e.pos2 !== null) place(chain(cards, e.pos2.card).bySeq, e.pos2.cardSeq, e.key)
}

interface Chains {
  cards: Map<string, CardState>
  devices: Map<string, DeviceState>
  // consecutive entries mostly come from one device (a ledger page): skip the map lookup then
  lastDevice: string
  lastDeviceState: DeviceState | null
}

function deviceChain(chains: Chains, dk: string): DeviceState {
  if (dk === chains.lastDevice && chains.lastDeviceState !== null) return chains.lastDeviceState
  const s = chain(chains.devices, dk)
  chains.lastDevice = dk
  chains.lastDeviceState = s
  return s
}

function chain<T>(map: Map<string, T>, k: string): T {
  const s = map.get(k)
  if (s === undefined) throw new LedgerDecodeError('snapshot-chain', 'a position on an unknown chain')
  return s
}

function place(bySeq: (string | string[] | undefined)[], seq: number, key: string): void {
  const cur = bySeq[seq]
  if (cur === undefined) bySeq[seq] = key
  else if (typeof cur === 'string') bySeq[seq] = [cur, key]
  else cur.push(key)
}

function readEntry(r: Reader, vr: ValueReader): RecordEntry {
  const flags = r.uint()
  const status = STATUS_CODES[flags & 3]!
  const key = r.latin1(32)
  const kindCode = r.u8()
  if (kindCode >= KIND_CODES.length) throw new LedgerDecodeError('snapshot-kind', `kind ${kindCode}`)
  const kind = KIND_CODES[kindCode]!
  const ref = r.int()
  const len = r.uint()
  const device = vr.string()
  const deviceSeq = r.uint()
  const card1 = flags & F_CARD1 ? vr.string() : null
  const seq1 = r.uint()
  const after1 = flags & F_AFTER1 ? readBalances(r, vr) : null
  let pos2: RecordEntry['pos2'] = null
  if (flags & F_POS2) {
    const card = vr.string()
    const cardSeq = r.uint()
    pos2 = { card, cardSeq, after: flags & F_POS2_AFTER ? readBalances(r, vr) : null }
  }
  let error: LedgerRuleError | null = null
  if (flags & F_ERROR) {
    const code = r.u8()
    if (code >= RULES.length) throw new LedgerDecodeError('unknown-rule', `rule ${code}`)
    error = new LedgerRuleError(RULES[code]!)
    error.message = r.string(MAX_TEXT)
  }
  const waitingFor = flags & F_WAITING ? vr.string() : null
  // same field order as the entries ingest creates (one hidden class)
  return {
    key,
    ref,
    len,
    status,
    sigOk: (flags & F_SIG_OK) !== 0,
    rec: null,
    error,
    waitingFor,
    kind,
    device,
    deviceSeq,
    card1,
    seq1,
    after1,
    pos2,
  }
}

function readBalances(r: Reader, vr: ValueReader): Balances {
  const n = vr.count()
  const out: (string | number)[] = new Array(n * 2)
  for (let i = 0; i < n; i++) {
    out[2 * i] = vr.string()
    out[2 * i + 1] = r.int()
  }
  return out
}

function ruleOf(code: string): Rule {
  if (!(RULES as readonly string[]).includes(code)) throw new LedgerDecodeError('unknown-rule', code)
  return code as Rule
}

function list<T>(r: Reader, item: () => T): T[] {
  const n = r.count(r.buf.length - r.pos)
  const out: T[] = []
  for (let i = 0; i < n; i++) out.push(item())
  return out
}
