// Canonical binary encoding primitives. Every reader check enforces one encoding per value
// (no overlong varints, no trailing bytes, booleans 0/1), so decode(bytes) -> encode gives the same bytes
// and a content hash names exactly one meaning.
import { LedgerDecodeError } from './errors.ts'

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })

export class Writer {
  private buf: Uint8Array
  private pos = 0

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity)
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
  }

  u8(v: number): this {
    this.ensure(1)
    this.buf[this.pos++] = v & 0xff
    return this
  }

  u32be(v: number): this {
    this.ensure(4)
    this.buf[this.pos++] = (v >>> 24) & 0xff
    this.buf[this.pos++] = (v >>> 16) & 0xff
    this.buf[this.pos++] = (v >>> 8) & 0xff
    this.buf[this.pos++] = v & 0xff
    return this
  }

  /** Unsigned LEB128 of a safe non-negative integer. */
  uint(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`not a safe unsigned integer: ${v}`)
    this.ensure(8)
    // below 2^31: integer bit operations instead of float division (same bytes)
    if (v < 0x80000000) {
      while (v >= 0x80) {
        this.buf[this.pos++] = (v & 0x7f) | 0x80
        v >>>= 7
      }
      this.buf[this.pos++] = v
      return this
    }
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80
      v = Math.floor(v / 0x80)
    }
    this.buf[this.pos++] = v
    return this
  }

  /** Signed safe integer: sign byte (0 or 1) then magnitude; negative zero is not representable. */
  int(v: number): this {
    if (!Number.isSafeInteger(v)) throw new RangeError(`not a safe integer: ${v}`)
    this.u8(v < 0 ? 1 : 0)
    return this.uint(Math.abs(v))
  }

  bool(v: boolean): this {
    return this.u8(v ? 1 : 0)
  }

  /** Fixed-length bytes (length known from the layout). */
  fixed(bytes: Uint8Array, length: number): this {
    if (bytes.length !== length) throw new RangeError(`expected ${length} bytes, got ${bytes.length}`)
    return this.raw(bytes)
  }

  raw(bytes: Uint8Array): this {
    this.ensure(bytes.length)
    this.buf.set(bytes, this.pos)
    this.pos += bytes.length
    return this
  }

  /** The bytes written so far, without a copy (valid until the next write). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.pos)
  }

  /** A string of chars < 256 as one byte each (keys made by keyOf), no length. */
  latin1(s: string): this {
    this.ensure(s.length)
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i)
    return this
  }

  /** Length-prefixed bytes. */
  bytes(bytes: Uint8Array): this {
    this.uint(bytes.length)
    return this.raw(bytes)
  }

  string(s: string): this {
    return this.bytes(utf8Encoder.encode(s))
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos)
  }
}

export class Reader {
  pos = 0
  constructor(readonly buf: Uint8Array) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length)
      throw new LedgerDecodeError('truncated', `need ${n} bytes at ${this.pos}`)
  }

  u8(): number {
    this.need(1)
    return this.buf[this.pos++]!
  }

  u32be(): number {
    this.need(4)
    const b = this.buf
    const v =
      b[this.pos]! * 0x1000000 + ((b[this.pos + 1]! << 16) | (b[this.pos + 2]! << 8) | b[this.pos + 3]!)
    this.pos += 4
    return v
  }

  uint(): number {
    // one byte below 0x80: the common case, always canonical
    const first = this.buf[this.pos]
    if (first !== undefined && first < 0x80) {
      this.pos++
      return first
    }
    let result = 0
    let scale = 1
    for (let i = 0; ; i++) {
      if (i >= 8) throw new LedgerDecodeError('varint-too-long', `at ${this.pos}`)
      const byte = this.u8()
      result += (byte & 0x7f) * scale
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0)
          throw new LedgerDecodeError('non-canonical', `overlong varint at ${this.pos}`)
        break
      }
      scale *= 0x80
    }
    if (!Number.isSafeInteger(result)) throw new LedgerDecodeError('unsafe-integer', `at ${this.pos}`)
    return result
  }

  int(): number {
    const sign = this.u8()
    if (sign > 1) throw new LedgerDecodeError('non-canonical', `sign byte ${sign}`)
    const mag = this.uint()
    if (sign === 1 && mag === 0) throw new LedgerDecodeError('non-canonical', 'negative zero')
    return sign ? -mag : mag
  }

  bool(): boolean {
    const v = this.u8()
    if (v > 1) throw new LedgerDecodeError('non-canonical', `boolean byte ${v}`)
    return v === 1
  }

  fixed(length: number): Uint8Array {
    this.need(length)
    const out = this.buf.subarray(this.pos, this.pos + length)
    this.pos += length
    return out
  }

  /** `length` bytes as a latin1 string (keyOf's form), without a view object per call. */
  latin1(length: number): string {
    this.need(length)
    const scratch = latinScratch(length)
    for (let i = 0; i < length; i++) scratch[i] = this.buf[this.pos + i]!
    this.pos += length
    return String.fromCharCode.apply(null, scratch)
  }

  bytes(maxLength: number): Uint8Array {
    const n = this.uint()
    if (n > maxLength) throw new LedgerDecodeError('too-long', `${n} > ${maxLength} bytes`)
    return this.fixed(n)
  }

  string(maxBytes: number): string {
    const n = this.uint()
    if (n > maxBytes) throw new LedgerDecodeError('too-long', `${n} > ${maxBytes} bytes`)
    this.need(n)
    // short ASCII (asset ids, product names): its UTF-8 decode is its latin1 one, made here without a
    // TextDecoder call (~4x faster; every ingested sale has three)
    if (n <= SHORT_STRING) {
      const scratch = latinScratch(n)
      const start = this.pos
      let i = 0
      for (; i < n; i++) {
        const c = this.buf[start + i]!
        if (c > 0x7f) break
        scratch[i] = c
      }
      if (i === n) {
        this.pos += n
        return String.fromCharCode.apply(null, scratch)
      }
    }
    const b = this.fixed(n)
    try {
      return utf8Decoder.decode(b)
    } catch {
      throw new LedgerDecodeError('bad-utf8', `at ${this.pos}`)
    }
  }

  /** Count of a list, bounded so a hostile length cannot allocate much. */
  count(max: number): number {
    const n = this.uint()
    if (n > max) throw new LedgerDecodeError('too-many', `${n} > ${max} items`)
    return n
  }

  end(): void {
    if (this.pos !== this.buf.length)
      throw new LedgerDecodeError('trailing-bytes', `${this.buf.length - this.pos} bytes after the end`)
  }
}

const SHORT_STRING = 32

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

const hexTable = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

export function toHex(bytes: Uint8Array): string {
  // join gives one flat string; `s +=` would keep a rope of 32+ nodes (~1.3 KB per hash) alive
  const parts: string[] = new Array(bytes.length)
  for (let i = 0; i < bytes.length; i++) parts[i] = hexTable[bytes[i]!]!
  return parts.join('')
}

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || /[^0-9a-fA-F]/.test(hex))
    throw new LedgerDecodeError('bad-hex', hex.slice(0, 16))
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}

/**
 * A compact map key for bytes (one latin1 char per byte): V8 stores it as a one-byte string,
 * half the size of hex, and it hashes fast. Internal to the index; the public API speaks bytes and hex.
 */
// one scratch array per length: apply() on a plain array is ~2x faster than on a typed array, and
// resizing one shared array (`length =`) costs more than it saves (measured, Node 20)
const keyScratch: number[][] = []
function latinScratch(n: number): number[] {
  let scratch = keyScratch[n]
  if (!scratch) {
    scratch = new Array(n).fill(0)
    keyScratch[n] = scratch
  }
  return scratch
}
export function keyOf(bytes: Uint8Array): string {
  const n = bytes.length
  if (n > 64) return String.fromCharCode.apply(null, bytes as unknown as number[])
  const scratch = latinScratch(n)
  for (let i = 0; i < n; i++) scratch[i] = bytes[i]!
  return String.fromCharCode.apply(null, scratch)
}

export function bytesOfKey(key: string): Uint8Array {
  const out = new Uint8Array(key.length)
  for (let i = 0; i < key.length; i++) out[i] = key.charCodeAt(i)
  return out
}

// Node's Buffer when present (native hex; browsers have no Buffer and use the table)
type LatinBuffer = { from(s: string, encoding: 'latin1'): { toString(encoding: 'hex'): string } }
const NodeBuffer = (globalThis as { Buffer?: LatinBuffer }).Buffer

/** Hex of a key made by keyOf (results and views name records by hex hash). */
export function hexOfKey(key: string): string {
  if (NodeBuffer) return NodeBuffer.from(key, 'latin1').toString('hex')
  return toHex(bytesOfKey(key))
}

export const ZERO_HASH = new Uint8Array(32)
