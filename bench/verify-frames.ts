// Framed record files of the verify bench: 4-byte big-endian length, then the bytes.
import { closeSync, openSync, readSync } from 'node:fs'

export function frame(list: Uint8Array[]): Buffer {
  const parts: Buffer[] = []
  for (const b of list) {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(b.length)
    parts.push(len, Buffer.from(b.buffer, b.byteOffset, b.byteLength))
  }
  return Buffer.concat(parts)
}

export function unframe(buf: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  for (let o = 0; o < buf.length; ) {
    const n = view.getUint32(o)
    out.push(buf.subarray(o + 4, o + 4 + n))
    o += 4 + n
  }
  return out
}

/** Read framed records from a file in batches without holding the whole file (honest RSS). */
export async function forEachBatch(
  path: string,
  batchSize: number,
  onBatch: (batch: Uint8Array[]) => Promise<void>,
) {
  const fd = openSync(path, 'r')
  try {
    let buf = Buffer.alloc(0)
    let batch: Uint8Array[] = []
    const chunk = Buffer.alloc(1 << 20)
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null)
      if (n === 0) break
      buf = buf.length === 0 ? Buffer.from(chunk.subarray(0, n)) : Buffer.concat([buf, chunk.subarray(0, n)])
      let o = 0
      while (o + 4 <= buf.length) {
        const len = buf.readUInt32BE(o)
        if (o + 4 + len > buf.length) break
        batch.push(new Uint8Array(buf.subarray(o + 4, o + 4 + len)))
        o += 4 + len
        if (batch.length === batchSize) {
          await onBatch(batch)
          batch = []
        }
      }
      buf = buf.subarray(o)
    }
    if (batch.length > 0) await onBatch(batch)
  } finally {
    closeSync(fd)
  }
}
