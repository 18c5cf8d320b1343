// Local state snapshot of a LedgerIndex, for a fast restart of the node that wrote it.
// Trust assumption: the snapshot lives on the node's own disk, like its device key, so signatures
// are not verified again on restore; every view is re-derived from the stored bytes (so views are
// exactly those of the exporting index). A trailing SHA-256 detects corruption and the header binds
// the snapshot to the federation keys; on either failure the caller re-ingests its records.
//   snapshot := MAGIC u8(VERSION) uint(n) federationKey{32}*n
//               uint(n) bytes(statement)*n
//               uint(n) (u8(refused) bytes(record) [string(rule) string(message)])*n
//               uint(n) (string(hash) bytes(item) u8(errorType) string(code) string(message))*n
//               u8(hasCheckpoint) [bytes(checkpoint)]
//               sha256(everything before){32}
import { bytesEqual, Reader, Writer } from './bytes.ts'
import { sha256 } from './crypto.ts'
import { LedgerDecodeError, LedgerRuleError, LedgerSnapshotError, RULES, type Rule } from './errors.ts'
import type { RejectedView } from './views.ts'

const MAGIC = new TextEncoder().encode('LAKOU-SNAPSHOT')
const VERSION = 1
const MAX_ITEM = 1 << 24
const MAX_COUNT = 1 << 30
const MAX_TEXT = 1 << 16

export interface SnapshotRecord {
  bytes: Uint8Array
  /** Set when the record's signatures failed (kept and reported as rejected, never applied). */
  refused?: { rule: Rule; message: string }
}

export interface SnapshotContent {
  federation: Uint8Array[]
  statements: Uint8Array[]
  /** Every stored record in arrival order (signatures verified, or refused). */
  records: SnapshotRecord[]
  /** Undecodable items and statements whose signature failed, as rejected() lists them. */
  malformed: RejectedView[]
  /** The signed checkpoint the index started from, if any. */
  checkpoint: Uint8Array | null
}

export function encodeSnapshot(c: SnapshotContent): Uint8Array {
  const w = new Writer().raw(MAGIC).u8(VERSION)
  w.uint(c.federation.length)
  for (const k of c.federation) w.fixed(k, 32)
  w.uint(c.statements.length)
  for (const s of c.statements) w.bytes(s)
  w.uint(c.records.length)
  for (const r of c.records) {
    w.u8(r.refused ? 1 : 0).bytes(r.bytes)
    if (r.refused) w.string(r.refused.rule).string(r.refused.message)
  }
  w.uint(c.malformed.length)
  for (const m of c.malformed) {
    const isRule = m.error instanceof LedgerRuleError
    const code = m.error instanceof LedgerRuleError ? m.error.rule : m.error.code
    w.string(m.hash)
      .bytes(m.bytes)
      .u8(isRule ? 1 : 0)
      .string(code)
      .string(m.error.message)
  }
  w.u8(c.checkpoint ? 1 : 0)
  if (c.checkpoint) w.bytes(c.checkpoint)
  const body = w.finish()
  return new Writer().raw(body).raw(sha256(body)).finish()
}

export function decodeSnapshot(bytes: Uint8Array): SnapshotContent {
  if (!(bytes instanceof Uint8Array) || bytes.length < MAGIC.length + 1 + 32)
    throw new LedgerSnapshotError('corrupt', 'too short')
  const body = bytes.subarray(0, bytes.length - 32)
  if (!bytesEqual(sha256(body), bytes.subarray(bytes.length - 32)))
    throw new LedgerSnapshotError('corrupt', 'hash mismatch')
  if (!bytesEqual(body.subarray(0, MAGIC.length), MAGIC))
    throw new LedgerSnapshotError('corrupt', 'not a ledger snapshot')
  const r = new Reader(body)
  r.fixed(MAGIC.length)
  const version = r.u8()
  if (version !== VERSION) throw new LedgerSnapshotError('version', `snapshot format ${version}`)
  try {
    const federation = list(r, () => r.fixed(32).slice())
    const statements = list(r, () => r.bytes(MAX_ITEM).slice())
    const records = list(r, (): SnapshotRecord => {
      const refused = r.bool()
      const item = r.bytes(MAX_ITEM).slice()
      if (!refused) return { bytes: item }
      const rule = r.string(MAX_TEXT)
      if (!(RULES as readonly string[]).includes(rule)) throw new LedgerDecodeError('unknown-rule', rule)
      return { bytes: item, refused: { rule: rule as Rule, message: r.string(MAX_TEXT) } }
    })
    const malformed = list(r, (): RejectedView => {
      const hash = r.string(MAX_TEXT)
      const item = r.bytes(MAX_ITEM).slice()
      const isRule = r.bool()
      const code = r.string(MAX_TEXT)
      const message = r.string(MAX_TEXT)
      if (isRule && !(RULES as readonly string[]).includes(code))
        throw new LedgerDecodeError('unknown-rule', code)
      const error = isRule ? new LedgerRuleError(code as Rule) : new LedgerDecodeError(code)
      error.message = message
      return { hash, bytes: item, error }
    })
    const checkpoint = r.bool() ? r.bytes(MAX_ITEM).slice() : null
    r.end()
    return { federation, statements, records, malformed, checkpoint }
  } catch (err) {
    if (err instanceof LedgerDecodeError) throw new LedgerSnapshotError('corrupt', err.message)
    throw err
  }
}

function list<T>(r: Reader, item: () => T): T[] {
  const n = r.count(MAX_COUNT)
  const out: T[] = []
  for (let i = 0; i < n; i++) out.push(item())
  return out
}
