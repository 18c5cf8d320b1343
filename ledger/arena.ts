// Append-only byte storage: records are copied into 1 MiB chunks and named by a number, so the index
// keeps no Uint8Array object per record (~100 bytes each) and callers' buffers can be collected.
export const ARENA_CHUNK = 1 << 20
const CHUNK = ARENA_CHUNK

export class ByteArena {
  private readonly chunks: Uint8Array[] = []
  private readonly large: Uint8Array[] = []
  private pos = CHUNK

  /**
   * The stored bytes as they lie (for the local snapshot): full chunks, the used part of the last one,
   * and the large items. References stay valid in an arena rebuilt by `fromDump`.
   */
  dump(): { chunks: Uint8Array[]; large: Uint8Array[] } {
    const chunks = this.chunks.map((c, i) => (i === this.chunks.length - 1 ? c.subarray(0, this.pos) : c))
    return { chunks, large: this.large }
  }

  /**
   * Rebuild from `dump()`'s parts without copying them (they must stay unmodified): the next record
   * starts a new chunk.
   */
  static fromDump(chunks: Uint8Array[], large: Uint8Array[]): ByteArena {
    const arena = new ByteArena()
    arena.chunks.push(...chunks)
    arena.large.push(...large)
    arena.pos = CHUNK
    return arena
  }

  /** Store a copy; returns a reference (>= 0: chunk * CHUNK + offset; < 0: a large item). */
  add(bytes: Uint8Array): number {
    if (bytes.length > CHUNK / 8) {
      this.large.push(bytes.slice())
      return -this.large.length
    }
    if (this.pos + bytes.length > CHUNK) {
      this.chunks.push(new Uint8Array(CHUNK))
      this.pos = 0
    }
    const chunk = this.chunks.length - 1
    this.chunks[chunk]!.set(bytes, this.pos)
    const ref = chunk * CHUNK + this.pos
    this.pos += bytes.length
    return ref
  }

  /** A view of stored bytes (valid for the arena's lifetime; do not modify). */
  get(ref: number, length: number): Uint8Array {
    if (ref < 0) return this.large[-ref - 1]!
    const chunk = Math.floor(ref / CHUNK)
    const offset = ref - chunk * CHUNK
    return this.chunks[chunk]!.subarray(offset, offset + length)
  }
}
