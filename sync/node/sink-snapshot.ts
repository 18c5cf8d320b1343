// The ChainSink's state in the index checkpoint, as compact bytes. Format 1 was JSON with every hash in hex
// twice removed (base64 of JSON inside the JSON checkpoint): ~15 MB, parsed into 200k small arrays at
// every start, at 200k records. Format 2, 32 raw bytes per hash, little-endian numbers:
//   "LKSINK" u8(2)
//   u32(n) hash{32}*n                                   every applied hash, in the store's order
//   u32(n) u32(hash index)*n                            the statements
//   u32(n) (device{32} u32(m) (f64(deviceSeq) u32(hash index))*m u32(k) f64(forkSeq)*k)*n
//   f64(rejected)
// Format 1 is still read (a checkpoint written before the upgrade).
import type { HashStore, SeqColumn } from './hash-store.ts'
import { fromHex, toHex } from './ledger.ts'

const MAGIC = new TextEncoder().encode('LKSINK')
const VERSION = 2
const HASH = 32

/** The sink snapshot cannot be read (truncated, damaged, unknown version). */
export class SinkSnapshotError extends Error {
  override name = 'SinkSnapshotError'
}

export interface SinkState {
  hashes: HashStore
  statements: string[]
  devices: Map<string, { seqs: { column: SeqColumn }; forks: number[] }>
  rejected: number
}

export interface DecodedSinkState {
  /** Every applied hash, 32 bytes each, concatenated (format 1 kept only statements and chain records). */
  hashes: Uint8Array
  /** Hash indices of the statements. */
  statements: number[]
  /** Per device chain: deviceSeq[i] holds the hash at index hashIndex[i]. */
  devices: Array<{ device: string; deviceSeq: Float64Array; hashIndex: Uint32Array; forks: number[] }>
  rejected: number
}

export function encodeSinkSnapshot(s: SinkState): Uint8Array {
  const parts = encodeSinkSnapshotParts(s)
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/**
 * The same bytes as parts to write one after the other: the hashes are the store's own pages (views of
 * append-only storage, not a copy: ~6.4 MB less to allocate at every checkpoint at 200k records).
 */
export function encodeSinkSnapshotParts(s: SinkState): Uint8Array[] {
  const head = new Uint8Array(MAGIC.length + 1 + 4)
  head.set(MAGIC)
  head[MAGIC.length] = VERSION
  new DataView(head.buffer).setUint32(MAGIC.length + 1, s.hashes.size, true)
  let size = 4 + s.statements.length * 4 + 4 + 8
  for (const d of s.devices.values()) size += HASH + 4 + d.seqs.column.size * 12 + 4 + d.forks.length * 8
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  let o = 0
  const u32 = (n: number) => {
    view.setUint32(o, n, true)
    o += 4
  }
  const f64 = (n: number) => {
    view.setFloat64(o, n, true)
    o += 8
  }
  u32(s.statements.length)
  for (const h of s.statements) {
    const i = s.hashes.indexOf(fromHex(h))
    if (i < 0) throw new SinkSnapshotError(`statement ${h} is not among the applied hashes`)
    u32(i)
  }
  u32(s.devices.size)
  for (const [device, chain] of s.devices) {
    out.set(fromHex(device), o)
    o += HASH
    u32(chain.seqs.column.size)
    for (const [seq, i] of chain.seqs.column.entries()) {
      f64(seq)
      u32(i)
    }
    u32(chain.forks.length)
    for (const f of chain.forks) f64(f)
  }
  f64(s.rejected)
  if (o !== size) throw new SinkSnapshotError(`encoded ${o} bytes, expected ${size}`)
  return [head, ...s.hashes.pages(), out]
}

export function decodeSinkSnapshot(bytes: Uint8Array): DecodedSinkState {
  if (bytes[0] === 0x7b) return decodeJson(bytes) // '{': format 1
  if (bytes.length < MAGIC.length + 1 || MAGIC.some((b, i) => bytes[i] !== b))
    throw new SinkSnapshotError('not a sink snapshot')
  if (bytes[MAGIC.length] !== VERSION)
    throw new SinkSnapshotError(`unknown sink snapshot version ${bytes[MAGIC.length]}`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let o = MAGIC.length + 1
  const need = (n: number) => {
    if (o + n > bytes.length) throw new SinkSnapshotError('truncated sink snapshot')
  }
  const u32 = () => {
    need(4)
    const v = view.getUint32(o, true)
    o += 4
    return v
  }
  const f64 = () => {
    need(8)
    const v = view.getFloat64(o, true)
    o += 8
    return v
  }
  const count = (itemBytes: number) => {
    const n = u32()
    need(n * itemBytes)
    return n
  }
  const nHashes = count(HASH)
  // a view: the restore copies the hashes into the sink's store anyway
  const hashes = bytes.subarray(o, o + nHashes * HASH)
  o += nHashes * HASH
  const index = () => {
    const i = u32()
    if (i >= nHashes) throw new SinkSnapshotError(`hash index ${i} out of range`)
    return i
  }
  const statements: number[] = []
  for (let n = count(4); n > 0; n--) statements.push(index())
  const devices: DecodedSinkState['devices'] = []
  for (let n = count(HASH + 8); n > 0; n--) {
    need(HASH)
    const device = toHex(bytes.subarray(o, o + HASH))
    o += HASH
    const m = count(12)
    const deviceSeq = new Float64Array(m)
    const hashIndex = new Uint32Array(m)
    for (let k = 0; k < m; k++) {
      deviceSeq[k] = f64()
      hashIndex[k] = index()
    }
    const forks: number[] = []
    for (let k = count(8); k > 0; k--) forks.push(f64())
    devices.push({ device, deviceSeq, hashIndex, forks })
  }
  const rejected = f64()
  if (o !== bytes.length) throw new SinkSnapshotError('trailing bytes after the sink snapshot')
  return { hashes, statements, devices, rejected }
}

// Format 1 (JSON, hex hashes), converted to the shape above.
function decodeJson(bytes: Uint8Array): DecodedSinkState {
  let s: {
    v: number
    statements: string[]
    devices: Record<string, [number, string][]>
    forks: Record<string, number[]>
    rejected: number
  }
  try {
    s = JSON.parse(new TextDecoder().decode(bytes))
  } catch (e) {
    throw new SinkSnapshotError(`sink snapshot unreadable: ${(e as Error).message}`)
  }
  if (s.v !== 1) throw new SinkSnapshotError(`unknown sink snapshot version ${s.v}`)
  const all: string[] = []
  const indexOf = (hex: string) => {
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new SinkSnapshotError('a hash in the sink snapshot is not hex')
    all.push(hex)
    return all.length - 1
  }
  const statements = s.statements.map(indexOf)
  const devices = Object.entries(s.devices).map(([device, seqs]) => ({
    device,
    deviceSeq: Float64Array.from(seqs, ([seq]) => seq),
    hashIndex: Uint32Array.from(seqs, ([, h]) => indexOf(h)),
    forks: s.forks[device] ?? [],
  }))
  const hashes = new Uint8Array(all.length * HASH)
  for (const [i, h] of all.entries()) hashes.set(fromHex(h), i * HASH)
  return { hashes, statements, devices, rejected: s.rejected }
}
