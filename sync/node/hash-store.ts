// Compact stores for the content hashes the sync sink has applied (ChainSink). At 200k records a Set of hex
// strings plus a Map<deviceSeq, hex> per device held ~30 MB of V8 heap (an 80-byte string, a Set slot and
// a Map slot per record); here a hash is its 32 raw bytes in 64 KiB pages, found through an
// open-addressing table of 32-bit slots, and a device chain is a column of slot numbers indexed by deviceSeq.

const HASH = 32
// Hashes live in pages of 2,048 (64 KiB): the store grows a page at a time. One buffer doubled when full
// left up to half of it unused (a restored 200k store held 6.4 MB, and its first new hash made it 12.8 MB)
// and a copy of the old one to collect at every doubling.
const PAGE_SHIFT = 11
const PAGE_HASHES = 1 << PAGE_SHIFT
const PAGE_MASK = PAGE_HASHES - 1

/** Append-only set of 32-byte hashes; each gets a stable index (0, 1, 2... in insertion order). */
export class HashStore {
  readonly #pages: Uint8Array[] = []
  #count = 0
  // index + 1 of the hash in each slot, 0 = empty; kept at most half full
  #slots = new Int32Array(2048)

  get size(): number {
    return this.#count
  }

  /** Index of `hash` (32 bytes of `buf` from `offset`), or -1. */
  indexOf(buf: Uint8Array, offset = 0): number {
    if (offset < 0 || buf.length - offset < HASH) return -1
    const mask = this.#slots.length - 1
    for (let s = slotOf(buf, offset) & mask; ; s = (s + 1) & mask) {
      const v = this.#slots[s]!
      if (v === 0) return -1
      if (this.#equals(v - 1, buf, offset)) return v - 1
    }
  }

  has(hash: Uint8Array): boolean {
    return hash.length === HASH && this.indexOf(hash) >= 0
  }

  /** Makes room for `n` hashes in all (a restore knows how many come: no rehash on the way). */
  reserve(n: number): void {
    let slots = this.#slots.length
    while (n * 2 > slots) slots *= 2
    if (slots > this.#slots.length) this.#rehash(slots)
  }

  /** Adds a hash (32 bytes of `buf` from `offset`) if absent; returns its index either way. */
  add(buf: Uint8Array, offset = 0): number {
    if (offset < 0 || buf.length - offset < HASH) throw new RangeError('a content hash is 32 bytes')
    const known = this.indexOf(buf, offset)
    if (known >= 0) return known
    if ((this.#count + 1) * 2 > this.#slots.length) this.#rehash(this.#slots.length * 2)
    const index = this.#count++
    if ((index & PAGE_MASK) === 0) this.#pages.push(new Uint8Array(PAGE_HASHES * HASH))
    const page = this.#pages[index >> PAGE_SHIFT]!
    const o = (index & PAGE_MASK) * HASH
    for (let i = 0; i < HASH; i++) page[o + i] = buf[offset + i]!
    this.#place(index)
    return index
  }

  /** The hash at `index` (a view: do not modify). */
  at(index: number): Uint8Array {
    if (!(index >= 0 && index < this.#count)) throw new RangeError(`no hash at ${index}`)
    const o = (index & PAGE_MASK) * HASH
    return this.#pages[index >> PAGE_SHIFT]!.subarray(o, o + HASH)
  }

  /** Every hash in index order, as views of the store's pages (append-only: later hashes do not change them). */
  pages(): Uint8Array[] {
    return this.#pages.map((page, i) =>
      page.subarray(0, Math.min(PAGE_HASHES, this.#count - i * PAGE_HASHES) * HASH),
    )
  }

  /** Byte order of the hashes at two indices (the order of their hex strings): <0, 0 or >0. */
  compare(a: number, b: number): number {
    const pa = this.#pages[a >> PAGE_SHIFT]!
    const pb = this.#pages[b >> PAGE_SHIFT]!
    const oa = (a & PAGE_MASK) * HASH
    const ob = (b & PAGE_MASK) * HASH
    for (let i = 0; i < HASH; i++) {
      const d = pa[oa + i]! - pb[ob + i]!
      if (d !== 0) return d
    }
    return 0
  }

  #equals(index: number, buf: Uint8Array, offset: number): boolean {
    const b = this.#pages[index >> PAGE_SHIFT]!
    const o = (index & PAGE_MASK) * HASH
    for (let i = 0; i < HASH; i++) if (b[o + i] !== buf[offset + i]) return false
    return true
  }

  #place(index: number): void {
    const mask = this.#slots.length - 1
    let s = slotOf(this.#pages[index >> PAGE_SHIFT]!, (index & PAGE_MASK) * HASH) & mask
    while (this.#slots[s] !== 0) s = (s + 1) & mask
    this.#slots[s] = index + 1
  }

  #rehash(size: number): void {
    this.#slots = new Int32Array(size)
    for (let i = 0; i < this.#count; i++) this.#place(i)
  }
}

// SHA-256 output is uniform: its first four bytes are a good enough slot hash (a peer cannot choose a
// record's hash, only grind for collisions in 32 bits, which only lengthens one probe run).
function slotOf(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0
}

/**
 * deviceSeq -> hash index for one device chain. Dense (an Int32Array) for the sequence numbers a chain
 * really has; a deviceSeq far beyond the chain's length (a signed record may claim any) goes to a small
 * Map instead, so it cannot make the column allocate gigabytes.
 */
export class SeqColumn {
  #dense = new Int32Array(64) // index + 1, 0 = absent
  #sparse: Map<number, number> | undefined
  #size = 0

  get size(): number {
    return this.#size
  }

  get(seq: number): number | undefined {
    if (Number.isInteger(seq) && seq >= 0 && seq < this.#dense.length) {
      const v = this.#dense[seq]!
      return v === 0 ? undefined : v - 1
    }
    return this.#sparse?.get(seq)
  }

  set(seq: number, index: number): void {
    if (this.get(seq) === undefined) this.#size++
    if (Number.isInteger(seq) && seq >= 0 && seq < this.#dense.length) {
      this.#dense[seq] = index + 1
      return
    }
    // grow the dense part only toward sequence numbers the chain plausibly reaches
    if (Number.isInteger(seq) && seq >= 0 && seq < Math.max(4096, this.#size * 4)) {
      let len = this.#dense.length
      while (len <= seq) len *= 2
      const grown = new Int32Array(len)
      grown.set(this.#dense)
      this.#dense = grown
      this.#dense[seq] = index + 1
      // sparse entries now inside the dense range move there (get looks in one place only)
      for (const [s, i] of this.#sparse ?? [])
        if (s < len) {
          this.#dense[s] = i + 1
          this.#sparse!.delete(s)
        }
      return
    }
    this.#sparse ??= new Map()
    this.#sparse.set(seq, index)
  }

  /** [deviceSeq, hash index] in ascending deviceSeq order. */
  *entries(): IterableIterator<[number, number]> {
    const sparse = [...(this.#sparse ?? [])].sort((a, b) => a[0] - b[0])
    for (let s = 0; s < this.#dense.length; s++) {
      const v = this.#dense[s]!
      if (v !== 0) yield [s, v - 1]
    }
    yield* sparse
  }

  max(): number {
    let max = 0
    for (let s = this.#dense.length - 1; s >= 0; s--)
      if (this.#dense[s] !== 0) {
        max = s
        break
      }
    for (const s of this.#sparse?.keys() ?? []) if (s > max) max = s
    return max
  }
}
