// A small self-describing encoding for the index's derived state in a local snapshot (undefined, null,
// booleans, numbers, strings, bytes, arrays with holes, plain objects, Maps, Sets). Strings are pooled:
// the first occurrence defines it, later ones name it by number, so the restored state shares one
// string per card / device key as the live index does (memory) and the file stays small.
import { keyOf, type Reader, type Writer } from './bytes.ts'
import { LedgerDecodeError } from './errors.ts'

const T_UNDEFINED = 0
const T_NULL = 1
const T_FALSE = 2
const T_TRUE = 3
const T_UINT = 4
const T_NEGATIVE = 5
const T_FLOAT = 6
const T_LATIN1 = 7
const T_UTF8 = 8
const T_POOLED = 9
const T_BYTES = 11
const T_ARRAY = 12
const T_OBJECT = 13
const T_MAP = 14
const T_SET = 15

const MAX_STRING = 1 << 24
const utf8 = new TextEncoder()
const utf8Fatal = new TextDecoder('utf-8', { fatal: true })
const f64 = new Float64Array(1)
const f64Bytes = new Uint8Array(f64.buffer)

export class ValueWriter {
  private readonly pool = new Map<string, number>()

  constructor(readonly w: Writer) {}

  // the last pooled string per call site: consecutive records mostly share their device (one page)
  private readonly last = ['', '']
  private readonly lastIndex = [-1, -1]

  /** Write a string; `site` (0 or 1) names a call site whose consecutive strings often repeat. */
  string(s: string, site = 0): void {
    const w = this.w
    if (s === this.last[site]) {
      w.u8(T_POOLED).uint(this.lastIndex[site]!)
      return
    }
    const pooled = this.pool.get(s)
    if (pooled !== undefined) {
      this.last[site] = s
      this.lastIndex[site] = pooled
      w.u8(T_POOLED).uint(pooled)
      return
    }
    this.pool.set(s, this.pool.size)
    let latin1 = true
    for (let i = 0; i < s.length && latin1; i++) latin1 = s.charCodeAt(i) < 256
    if (latin1) {
      w.u8(T_LATIN1).uint(s.length).latin1(s)
    } else w.u8(T_UTF8).bytes(utf8.encode(s))
  }

  value(v: unknown): void {
    const w = this.w
    if (v === undefined) w.u8(T_UNDEFINED)
    else if (v === null) w.u8(T_NULL)
    else if (v === false) w.u8(T_FALSE)
    else if (v === true) w.u8(T_TRUE)
    else if (typeof v === 'number') {
      if (Number.isSafeInteger(v)) {
        if (v < 0) w.u8(T_NEGATIVE).uint(-v)
        else w.u8(T_UINT).uint(v)
      } else {
        f64[0] = v
        w.u8(T_FLOAT).raw(f64Bytes)
      }
    } else if (typeof v === 'string') this.string(v)
    else if (v instanceof Uint8Array) w.u8(T_BYTES).bytes(v)
    else if (Array.isArray(v)) {
      w.u8(T_ARRAY).uint(v.length)
      for (let i = 0; i < v.length; i++) this.value(v[i])
    } else if (v instanceof Map) {
      w.u8(T_MAP).uint(v.size)
      for (const [k, x] of v) {
        this.value(k)
        this.value(x)
      }
    } else if (v instanceof Set) {
      w.u8(T_SET).uint(v.size)
      for (const x of v) this.value(x)
    } else if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      const keys = Object.keys(v)
      w.u8(T_OBJECT).uint(keys.length)
      for (const k of keys) {
        this.string(k)
        this.value((v as Record<string, unknown>)[k])
      }
    } else throw new TypeError(`cannot snapshot a ${typeof v} (${Object.prototype.toString.call(v)})`)
  }
}

export class ValueReader {
  private readonly pool: string[] = []

  constructor(readonly r: Reader) {}

  string(): string {
    const r = this.r
    if (r.buf[r.pos] === T_POOLED) {
      r.pos++
      return at(this.pool, r.uint())
    }
    const v = this.value()
    if (typeof v !== 'string') throw new LedgerDecodeError('snapshot-type', 'expected a string')
    return v
  }

  value(): unknown {
    const r = this.r
    const tag = r.u8()
    switch (tag) {
      case T_UNDEFINED:
        return undefined
      case T_NULL:
        return null
      case T_FALSE:
        return false
      case T_TRUE:
        return true
      case T_UINT:
        return r.uint()
      case T_NEGATIVE:
        return -r.uint()
      case T_FLOAT: {
        f64Bytes.set(r.fixed(8))
        return f64[0]
      }
      case T_LATIN1: {
        const n = r.count(MAX_STRING)
        const s = n > 64 ? keyOf(r.fixed(n)) : r.latin1(n)
        this.pool.push(s)
        return s
      }
      case T_UTF8: {
        let s: string
        try {
          s = utf8Fatal.decode(r.bytes(MAX_STRING))
        } catch {
          throw new LedgerDecodeError('bad-utf8', `at ${r.pos}`)
        }
        this.pool.push(s)
        return s
      }
      case T_POOLED:
        return at(this.pool, r.uint())
      case T_BYTES:
        return r.bytes(MAX_STRING).slice()
      case T_ARRAY: {
        const n = this.count()
        const out: unknown[] = new Array(n)
        // undefined items stay holes (a chain's bySeq is sparse; its length is kept)
        for (let i = 0; i < n; i++) {
          const x = this.value()
          if (x !== undefined) out[i] = x
        }
        return out
      }
      case T_OBJECT: {
        const n = this.count()
        const out: Record<string, unknown> = {}
        for (let i = 0; i < n; i++) {
          const k = this.string()
          out[k] = this.value()
        }
        return out
      }
      case T_MAP: {
        const n = this.count()
        const out = new Map<unknown, unknown>()
        for (let i = 0; i < n; i++) {
          const k = this.value()
          out.set(k, this.value())
        }
        return out
      }
      case T_SET: {
        const n = this.count()
        const out = new Set<unknown>()
        for (let i = 0; i < n; i++) out.add(this.value())
        return out
      }
      default:
        throw new LedgerDecodeError('snapshot-type', `unknown value tag ${tag}`)
    }
  }

  /** A list length, at most one item per byte left (a damaged length cannot allocate much). */
  count(): number {
    return this.r.count(this.r.buf.length - this.r.pos)
  }

  /** A value that must be a Map (the index's maps), else the snapshot is corrupt. */
  map<K, V>(): Map<K, V> {
    const v = this.value()
    if (!(v instanceof Map)) throw new LedgerDecodeError('snapshot-type', 'expected a map')
    return v as Map<K, V>
  }

  array<T>(): T[] {
    const v = this.value()
    if (!Array.isArray(v)) throw new LedgerDecodeError('snapshot-type', 'expected an array')
    return v as T[]
  }
}

function at<T>(list: T[], i: number): T {
  if (i >= list.length) throw new LedgerDecodeError('snapshot-ref', `reference ${i} >= ${list.length}`)
  return list[i]!
}
