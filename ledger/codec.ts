// Canonical bytes of statements and records: a fixed binary layout per kind (see README.md).
//   signed   := uint(len(unsigned)) unsigned u8(signatureCount) signature{64}*
//   unsigned := u8(FORMAT) u8(kindCode) body
// The content hash is SHA-256(unsigned). Signatures: first the issuer's / device's, then one per
// chain position on a signing card, in layout order.
import { Reader, Writer } from './bytes.ts'
import { sha256, sha256Key } from './crypto.ts'
import { LedgerDecodeError } from './errors.ts'
import {
  ASSET_KINDS,
  type AssetAmount,
  type CardId,
  type ChainPosition,
  type Hash,
  type LedgerRecord,
  PAYMENT_METHODS,
  REFUND_METHODS,
  type RecordHeader,
  type RecordKind,
  ROLES,
  type Role,
  type Statement,
  type StatementKind,
  TOP_UP_METHODS,
} from './types.ts'

export const FORMAT = 1
export const SIGNATURE_LENGTH = 64

export const RECORD_KIND_CODES: Record<RecordKind, number> = {
  'top-up': 1,
  sale: 2,
  refund: 3,
  transfer: 4,
  void: 5,
  'membership-grant': 6,
  'ticket-issue': 7,
  'check-in': 8,
  'card-link': 9,
  'card-replace': 10,
  checkpoint: 11,
  'till-close-out': 12,
}
export const STATEMENT_KIND_CODES: Record<StatementKind, number> = {
  'venue-admission': 64,
  'device-certificate': 65,
  'device-revocation': 66,
  'staff-card': 67,
  'member-card': 68,
  'asset-definition': 69,
  'federation-policy': 70,
}
const recordKindByCode = new Map(Object.entries(RECORD_KIND_CODES).map(([k, v]) => [v, k as RecordKind]))
const statementKindByCode = new Map(
  Object.entries(STATEMENT_KIND_CODES).map(([k, v]) => [v, k as StatementKind]),
)

// Bounds that keep hostile input small; generous for real use.
export const LIMITS = {
  text: 128,
  assetId: 24,
  payload: 2048,
  lines: 100,
  payments: 8,
  assets: 16,
  checkpointEntries: 1_000_000,
} as const

// ---------------------------------------------------------------- card ids

export const SIGNING_CARD_PREFIX = 0x01
export const TAG_CARD_PREFIX = 0x02

export function signingCardId(publicKey: Uint8Array): CardId {
  if (publicKey.length !== 32) throw new LedgerDecodeError('bad-card-id', 'signing card key is 32 bytes')
  const id = new Uint8Array(33)
  id[0] = SIGNING_CARD_PREFIX
  id.set(publicKey, 1)
  return id
}

export function tagCardId(uid: Uint8Array): CardId {
  if (uid.length < 4 || uid.length > 10) throw new LedgerDecodeError('bad-card-id', 'tag UID is 4..10 bytes')
  const id = new Uint8Array(uid.length + 1)
  id[0] = TAG_CARD_PREFIX
  id.set(uid, 1)
  return id
}

export function cardKindOf(card: CardId): 'signing' | 'tag' {
  return card[0] === SIGNING_CARD_PREFIX ? 'signing' : 'tag'
}

/** The signing card's public key (null for a tag card). */
export function cardPublicKey(card: CardId): Uint8Array | null {
  return card[0] === SIGNING_CARD_PREFIX ? card.subarray(1) : null
}

function checkCardId(id: Uint8Array, allowEmpty: boolean): Uint8Array {
  if (id.length === 0 && allowEmpty) return id
  const ok =
    (id[0] === SIGNING_CARD_PREFIX && id.length === 33) ||
    (id[0] === TAG_CARD_PREFIX && id.length >= 5 && id.length <= 11)
  if (!ok) throw new LedgerDecodeError('bad-card-id', `length ${id.length}, prefix ${id[0]}`)
  return id
}

// ---------------------------------------------------------------- field helpers

function writeEnum<T extends string>(w: Writer, values: readonly T[], v: T): void {
  const i = values.indexOf(v)
  if (i < 0) throw new LedgerDecodeError('bad-enum', String(v))
  w.u8(i)
}
function readEnum<T extends string>(r: Reader, values: readonly T[]): T {
  const i = r.u8()
  const v = values[i]
  if (v === undefined) throw new LedgerDecodeError('bad-enum', `value ${i}`)
  return v
}
function writeCard(w: Writer, card: CardId, allowEmpty = false): void {
  w.bytes(checkCardId(card, allowEmpty))
}
function readCard(r: Reader, allowEmpty = false): CardId {
  return checkCardId(r.bytes(33), allowEmpty)
}
function writeAsset(w: Writer, asset: string): void {
  const b = new TextEncoder().encode(asset)
  if (b.length < 1 || b.length > LIMITS.assetId) throw new LedgerDecodeError('bad-asset-id', asset)
  w.bytes(b)
}
function readAsset(r: Reader): string {
  const s = r.string(LIMITS.assetId)
  if (s.length === 0) throw new LedgerDecodeError('bad-asset-id', 'empty')
  return s
}
function writeText(w: Writer, s: string): void {
  const b = new TextEncoder().encode(s)
  if (b.length > LIMITS.text) throw new LedgerDecodeError('too-long', `text of ${b.length} bytes`)
  w.bytes(b)
}
function writeChain(w: Writer, c: ChainPosition): void {
  writeCard(w, c.card)
  w.uint(c.cardSeq)
  w.fixed(c.cardPrev, 32)
}
function readChain(r: Reader): ChainPosition {
  return { card: readCard(r), cardSeq: r.uint(), cardPrev: r.fixed(32) }
}
function writeOptChain(w: Writer, c: ChainPosition | null): void {
  w.bool(c !== null)
  if (c) writeChain(w, c)
}
function readOptChain(r: Reader): ChainPosition | null {
  return r.bool() ? readChain(r) : null
}
function writeAmounts(w: Writer, list: AssetAmount[]): void {
  if (list.length > LIMITS.assets) throw new LedgerDecodeError('too-many', 'asset amounts')
  w.uint(list.length)
  for (const a of list) {
    writeAsset(w, a.asset)
    w.int(a.amount)
  }
}
function readAmounts(r: Reader): AssetAmount[] {
  const n = r.count(LIMITS.assets)
  const out: AssetAmount[] = []
  for (let i = 0; i < n; i++) out.push({ asset: readAsset(r), amount: r.int() })
  return out
}
function writeRoles(w: Writer, roles: Role[]): void {
  let mask = 0
  for (const role of roles) {
    const i = ROLES.indexOf(role)
    if (i < 0) throw new LedgerDecodeError('bad-enum', role)
    mask |= 1 << i
  }
  w.u8(mask)
}
function readRoles(r: Reader): Role[] {
  const mask = r.u8()
  if (mask >> ROLES.length) throw new LedgerDecodeError('bad-enum', `role mask ${mask}`)
  return ROLES.filter((_, i) => mask & (1 << i))
}

// ---------------------------------------------------------------- statements

export function encodeStatementUnsigned(s: Statement): Uint8Array {
  const w = new Writer()
  w.u8(FORMAT).u8(STATEMENT_KIND_CODES[s.kind]).fixed(s.issuer, 32).uint(s.time)
  switch (s.kind) {
    case 'venue-admission':
      w.fixed(s.venue, 32)
      writeText(w, s.name)
      break
    case 'device-certificate':
      w.fixed(s.device, 32)
      writeRoles(w, s.roles)
      w.uint(s.notBefore).uint(s.notAfter)
      writeText(w, s.label)
      break
    case 'device-revocation':
      w.fixed(s.device, 32).uint(s.cutoffSeq)
      writeText(w, s.reason)
      break
    case 'staff-card':
      writeCard(w, s.card)
      writeText(w, s.label)
      break
    case 'member-card':
      writeCard(w, s.card)
      break
    case 'asset-definition':
      writeAsset(w, s.asset)
      writeEnum(w, ASSET_KINDS, s.assetKind)
      w.uint(s.decimals).bool(s.refundable).int(s.floor)
      writeText(w, s.name)
      break
    case 'federation-policy':
      w.uint(s.version).uint(s.offlineCeiling.signing).uint(s.offlineCeiling.tag)
      break
  }
  return w.finish()
}

function decodeStatementBody(r: Reader, kind: StatementKind): Statement {
  const issuer = r.fixed(32)
  const time = r.uint()
  switch (kind) {
    case 'venue-admission':
      return { kind, issuer, time, venue: r.fixed(32), name: r.string(LIMITS.text) }
    case 'device-certificate':
      return {
        kind,
        issuer,
        time,
        device: r.fixed(32),
        roles: readRoles(r),
        notBefore: r.uint(),
        notAfter: r.uint(),
        label: r.string(LIMITS.text),
      }
    case 'device-revocation':
      return { kind, issuer, time, device: r.fixed(32), cutoffSeq: r.uint(), reason: r.string(LIMITS.text) }
    case 'staff-card':
      return { kind, issuer, time, card: readCard(r), label: r.string(LIMITS.text) }
    case 'member-card':
      return { kind, issuer, time, card: readCard(r) }
    case 'asset-definition':
      return {
        kind,
        issuer,
        time,
        asset: readAsset(r),
        assetKind: readEnum(r, ASSET_KINDS),
        decimals: r.uint(),
        refundable: r.bool(),
        floor: r.int(),
        name: r.string(LIMITS.text),
      }
    case 'federation-policy':
      return { kind, issuer, time, version: r.uint(), offlineCeiling: { signing: r.uint(), tag: r.uint() } }
  }
}

// ---------------------------------------------------------------- records

export function encodeRecordUnsigned(rec: LedgerRecord): Uint8Array {
  const w = new Writer()
  w.u8(FORMAT).u8(RECORD_KIND_CODES[rec.kind])
  w.fixed(rec.device, 32).uint(rec.deviceSeq).fixed(rec.devicePrev, 32).uint(rec.time)
  writeCard(w, rec.staff, true)
  switch (rec.kind) {
    case 'top-up':
      writeChain(w, rec.chain)
      writeAsset(w, rec.asset)
      w.int(rec.amount)
      writeEnum(w, TOP_UP_METHODS, rec.method)
      break
    case 'sale':
      writeOptChain(w, rec.chain)
      if (rec.lines.length > LIMITS.lines) throw new LedgerDecodeError('too-many', 'sale lines')
      w.uint(rec.lines.length)
      for (const l of rec.lines) {
        writeText(w, l.product)
        w.int(l.quantity).int(l.unitPrice)
        writeAsset(w, l.asset)
        w.uint(l.vatRate)
      }
      if (rec.payments.length > LIMITS.payments) throw new LedgerDecodeError('too-many', 'payments')
      w.uint(rec.payments.length)
      for (const p of rec.payments) {
        writeEnum(w, PAYMENT_METHODS, p.method)
        writeAsset(w, p.asset)
        w.int(p.amount)
      }
      break
    case 'refund':
      writeChain(w, rec.chain)
      writeAsset(w, rec.asset)
      w.int(rec.amount)
      writeEnum(w, REFUND_METHODS, rec.method)
      break
    case 'transfer':
      writeChain(w, rec.chain)
      writeChain(w, rec.to)
      writeAsset(w, rec.asset)
      w.int(rec.amount)
      break
    case 'void':
      writeOptChain(w, rec.chain)
      w.fixed(rec.target, 32)
      writeText(w, rec.reason)
      break
    case 'membership-grant':
      writeCard(w, rec.card)
      writeText(w, rec.plan)
      w.uint(rec.validFrom).uint(rec.validUntil)
      break
    case 'ticket-issue':
      writeText(w, rec.ticket)
      writeText(w, rec.event)
      writeText(w, rec.ticketType)
      writeCard(w, rec.card, true)
      w.uint(rec.validUntil)
      break
    case 'check-in':
      writeText(w, rec.ticket)
      break
    case 'card-link':
      writeCard(w, rec.card)
      w.fixed(rec.venue, 32)
      if (rec.payload.length > LIMITS.payload) throw new LedgerDecodeError('too-long', 'card link payload')
      w.bytes(rec.payload)
      break
    case 'card-replace':
      writeCard(w, rec.lostCard)
      w.uint(rec.lostCardSeq).fixed(rec.lostHead, 32)
      writeChain(w, rec.chain)
      writeAmounts(w, rec.moved)
      break
    case 'checkpoint':
      w.uint(rec.devices.length)
      for (const d of rec.devices) w.fixed(d.device, 32).uint(d.deviceSeq).fixed(d.head, 32)
      w.uint(rec.cards.length)
      for (const c of rec.cards) {
        writeCard(w, c.card)
        w.uint(c.cardSeq).fixed(c.head, 32)
        writeAmounts(w, c.balances)
      }
      break
    case 'till-close-out':
      writeAmounts(w, rec.counted)
      break
  }
  return w.finish()
}

function decodeRecordBody(r: Reader, kind: RecordKind): LedgerRecord {
  // every ingested record is decoded here (twice when it waits): the usual kinds list the header's
  // fields instead of spreading a header object (one object less, ~10 % of a decode)
  const device = r.fixed(32)
  const deviceSeq = r.uint()
  const devicePrev = r.fixed(32)
  const time = r.uint()
  const staff = readCard(r, true)
  switch (kind) {
    case 'top-up':
      return {
        kind,
        device,
        deviceSeq,
        devicePrev,
        time,
        staff,
        chain: readChain(r),
        asset: readAsset(r),
        amount: r.int(),
        method: readEnum(r, TOP_UP_METHODS),
      }
    case 'sale': {
      const chain = readOptChain(r)
      const nLines = r.count(LIMITS.lines)
      const lines = []
      for (let i = 0; i < nLines; i++)
        lines.push({
          product: r.string(LIMITS.text),
          quantity: r.int(),
          unitPrice: r.int(),
          asset: readAsset(r),
          vatRate: r.uint(),
        })
      const nPay = r.count(LIMITS.payments)
      const payments = []
      for (let i = 0; i < nPay; i++)
        payments.push({ method: readEnum(r, PAYMENT_METHODS), asset: readAsset(r), amount: r.int() })
      return { kind, device, deviceSeq, devicePrev, time, staff, chain, lines, payments }
    }
  }
  return decodeRareRecordBody(r, kind, { device, deviceSeq, devicePrev, time, staff })
}

/** The other kinds: the header spread into each (they are rare on the ingest path). */
function decodeRareRecordBody(
  r: Reader,
  kind: Exclude<RecordKind, 'top-up' | 'sale'>,
  h: RecordHeader,
): LedgerRecord {
  switch (kind) {
    case 'refund':
      return {
        kind,
        ...h,
        chain: readChain(r),
        asset: readAsset(r),
        amount: r.int(),
        method: readEnum(r, REFUND_METHODS),
      }
    case 'transfer':
      return { kind, ...h, chain: readChain(r), to: readChain(r), asset: readAsset(r), amount: r.int() }
    case 'void':
      return { kind, ...h, chain: readOptChain(r), target: r.fixed(32), reason: r.string(LIMITS.text) }
    case 'membership-grant':
      return {
        kind,
        ...h,
        card: readCard(r),
        plan: r.string(LIMITS.text),
        validFrom: r.uint(),
        validUntil: r.uint(),
      }
    case 'ticket-issue':
      return {
        kind,
        ...h,
        ticket: r.string(LIMITS.text),
        event: r.string(LIMITS.text),
        ticketType: r.string(LIMITS.text),
        card: readCard(r, true),
        validUntil: r.uint(),
      }
    case 'check-in':
      return { kind, ...h, ticket: r.string(LIMITS.text) }
    case 'card-link':
      return { kind, ...h, card: readCard(r), venue: r.fixed(32), payload: r.bytes(LIMITS.payload) }
    case 'card-replace':
      return {
        kind,
        ...h,
        lostCard: readCard(r),
        lostCardSeq: r.uint(),
        lostHead: r.fixed(32),
        chain: readChain(r),
        moved: readAmounts(r),
      }
    case 'checkpoint': {
      const nd = r.count(LIMITS.checkpointEntries)
      const devices = []
      for (let i = 0; i < nd; i++)
        devices.push({ device: r.fixed(32), deviceSeq: r.uint(), head: r.fixed(32) })
      const nc = r.count(LIMITS.checkpointEntries)
      const cards = []
      for (let i = 0; i < nc; i++)
        cards.push({ card: readCard(r), cardSeq: r.uint(), head: r.fixed(32), balances: readAmounts(r) })
      return { kind, ...h, devices, cards }
    }
    case 'till-close-out':
      return { kind, ...h, counted: readAmounts(r) }
  }
}

// ---------------------------------------------------------------- envelope

export function encodeSigned(unsigned: Uint8Array, signatures: Uint8Array[]): Uint8Array {
  const w = new Writer()
  w.uint(unsigned.length).raw(unsigned).u8(signatures.length)
  for (const s of signatures) w.fixed(s, SIGNATURE_LENGTH)
  return w.finish()
}

export interface DecodedEnvelope {
  unsigned: Uint8Array
  signatures: Uint8Array[]
  hash: Hash
}

export function decodeEnvelope(bytes: Uint8Array): DecodedEnvelope {
  const env = splitEnvelope(bytes)
  return { unsigned: env.unsigned, signatures: env.signatures, hash: sha256(env.unsigned) }
}

function splitEnvelope(bytes: Uint8Array): { unsigned: Uint8Array; signatures: Uint8Array[] } {
  if (!(bytes instanceof Uint8Array)) throw new LedgerDecodeError('not-bytes')
  const r = new Reader(bytes)
  const unsigned = r.bytes(bytes.length)
  const n = r.u8()
  if (n < 1 || n > 3) throw new LedgerDecodeError('bad-signature-count', String(n))
  const signatures: Uint8Array[] = []
  for (let i = 0; i < n; i++) signatures.push(r.fixed(SIGNATURE_LENGTH))
  r.end()
  if (unsigned[0] !== FORMAT) throw new LedgerDecodeError('unknown-format', String(unsigned[0]))
  return { unsigned, signatures }
}

export type Decoded =
  | ({ type: 'record'; record: LedgerRecord } & DecodedEnvelope)
  | ({ type: 'statement'; statement: Statement } & DecodedEnvelope)

/** decodeSigned's result with the content hash as a key string (keyOf's form): the index's own read. */
export type DecodedKeyed =
  | { type: 'record'; record: LedgerRecord; unsigned: Uint8Array; signatures: Uint8Array[]; hash: string }
  | { type: 'statement'; statement: Statement; unsigned: Uint8Array; signatures: Uint8Array[]; hash: string }

/** Decode signed bytes (record or statement); throws LedgerDecodeError on anything non-canonical. */
export function decodeSigned(bytes: Uint8Array): Decoded {
  return decodeWithHash(bytes, sha256)
}

/** decodeSigned with the hash as keyOf would give it, without a bytes copy (every ingested record). */
export function decodeSignedKeyed(bytes: Uint8Array): DecodedKeyed {
  return decodeWithHash(bytes, sha256Key)
}

function decodeWithHash<H>(
  bytes: Uint8Array,
  hashOf: (unsigned: Uint8Array) => H,
):
  | { type: 'record'; record: LedgerRecord; unsigned: Uint8Array; signatures: Uint8Array[]; hash: H }
  | { type: 'statement'; statement: Statement; unsigned: Uint8Array; signatures: Uint8Array[]; hash: H } {
  // fields listed, not spread: this runs for every ingested record
  const { unsigned, signatures } = splitEnvelope(bytes)
  const hash = hashOf(unsigned)
  const r = new Reader(unsigned)
  r.u8() // format, checked above
  const code = r.u8()
  const recordKind = recordKindByCode.get(code)
  if (recordKind) {
    const record = decodeRecordBody(r, recordKind)
    r.end()
    return { type: 'record', record, unsigned, signatures, hash }
  }
  const statementKind = statementKindByCode.get(code)
  if (statementKind) {
    const statement = decodeStatementBody(r, statementKind)
    r.end()
    return { type: 'statement', statement, unsigned, signatures, hash }
  }
  throw new LedgerDecodeError('unknown-kind', String(code))
}

/** What sync keeps of signed bytes: the kind of item, its content hash, and a record's device chain place. */
export type SignedHeader =
  | { type: 'record'; hash: Hash; device: Uint8Array; deviceSeq: number; devicePrev: Uint8Array }
  | { type: 'statement'; hash: Hash }

/**
 * The envelope checked (signature count, format), the content hash, and for a record its device, deviceSeq
 * and devicePrev (views of `bytes`), without decoding the rest: for a caller that gets a verdict on the whole
 * bytes elsewhere (the index's ingest, verifySignatures), which refuses a body that does not decode.
 * Throws LedgerDecodeError on a bad envelope or an unknown kind.
 */
export function decodeSignedHeader(bytes: Uint8Array): SignedHeader {
  const { unsigned } = splitEnvelope(bytes)
  const hash = sha256(unsigned)
  const r = new Reader(unsigned)
  r.u8() // format, checked above
  const code = r.u8()
  if (recordKindByCode.has(code)) {
    const device = r.fixed(32)
    const deviceSeq = r.uint()
    return { type: 'record', hash, device, deviceSeq, devicePrev: r.fixed(32) }
  }
  if (statementKindByCode.has(code)) return { type: 'statement', hash }
  throw new LedgerDecodeError('unknown-kind', String(code))
}

export function hashOfUnsigned(unsigned: Uint8Array): Hash {
  return sha256(unsigned)
}

/** Content hash of signed bytes (SHA-256 of the canonical unsigned part). */
export function recordHash(bytes: Uint8Array): Hash {
  return decodeEnvelope(bytes).hash
}

/** Decode a record already known to be well-formed, without hashing it again (the index's re-reads). */
export function decodeRecordUnchecked(bytes: Uint8Array): LedgerRecord {
  // the signatures were checked at ingest: read only the unsigned part
  const unsigned = new Reader(bytes).bytes(bytes.length)
  const r = new Reader(unsigned)
  r.u8()
  const kind = recordKindByCode.get(r.u8())
  if (!kind) throw new LedgerDecodeError('unknown-kind')
  return decodeRecordBody(r, kind)
}
