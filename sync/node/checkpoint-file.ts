// <dataDir>/index.checkpoint: the index feed's per-page progress, the sync sink's state, and the name
// (SHA-256) of the ledger snapshot written with it. Format 2 is binary: a small JSON header then the sink
// bytes as they are (format 1 was one JSON document holding the sink state in base64: at 200k records
// ~20 MB of text built, parsed and decoded at every checkpoint and start). Format 1 is still read.
//   "LAKOU-CKPT" u8(2) u32le(headerLength) header(JSON: {state, ledger?}) sinkBytes
import { createHash } from 'node:crypto'
import { type FileHandle, open } from 'node:fs/promises'
import type { FeedState } from '../docs/mod.ts'
import { LedgerIndex, LedgerSnapshotError, snapshotLayout, toHex } from './ledger.ts'

const MAGIC = new TextEncoder().encode('LAKOU-CKPT')
const VERSION = 2

/** The checkpoint file cannot be read; the node then rebuilds its index from the documents. */
export class CheckpointFileError extends Error {
  override name = 'CheckpointFileError'
}

export interface Checkpoint {
  state: FeedState
  /** The ChainSink's snapshot bytes. */
  sink: Uint8Array
  /**
   * Names the ledger.snapshot written with this checkpoint: `ledgerTrailer` is its trailing SHA-256 (hex; the
   * ledger checks it against the rest when it decodes), `ledger` the SHA-256 of the whole file (format 1).
   * That snapshot was taken after the feed state, so it holds every record the state counts as indexed
   * (records newer than the state come again from their pages; the ledger dedups them). Any other
   * ledger.snapshot (a crash between the two writes) is not used.
   */
  ledgerTrailer?: string
  ledger?: string
}

/** The file's bytes as parts to write in order (the sink bytes, or the sink's parts, are not copied). */
export function encodeCheckpoint(
  cp: Omit<Checkpoint, 'sink'> & { sink: Uint8Array | Uint8Array[] },
): Uint8Array[] {
  const { sink, ...named } = cp
  const header = new TextEncoder().encode(JSON.stringify(named))
  const prefix = new Uint8Array(MAGIC.length + 1 + 4 + header.length)
  prefix.set(MAGIC)
  prefix[MAGIC.length] = VERSION
  new DataView(prefix.buffer).setUint32(MAGIC.length + 1, header.length, true)
  prefix.set(header, MAGIC.length + 1 + 4)
  return [prefix, ...(Array.isArray(sink) ? sink : [sink])]
}

export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  if (bytes[0] === 0x7b) {
    // format 1: {v: 1, state, snapshot: base64, ledger?}
    try {
      const j = JSON.parse(new TextDecoder().decode(bytes)) as {
        state: FeedState
        snapshot: string
        ledger?: string
      }
      const sink = new Uint8Array(Buffer.from(j.snapshot, 'base64'))
      return j.ledger ? { state: j.state, sink, ledger: j.ledger } : { state: j.state, sink }
    } catch (e) {
      throw new CheckpointFileError(`checkpoint unreadable: ${(e as Error).message}`)
    }
  }
  const headerAt = MAGIC.length + 1 + 4
  if (bytes.length < headerAt || MAGIC.some((b, i) => bytes[i] !== b))
    throw new CheckpointFileError('not a checkpoint file')
  if (bytes[MAGIC.length] !== VERSION)
    throw new CheckpointFileError(`unknown checkpoint version ${bytes[MAGIC.length]}`)
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(MAGIC.length + 1, true)
  if (headerAt + length > bytes.length) throw new CheckpointFileError('truncated checkpoint')
  let header: { state?: FeedState; ledger?: string; ledgerTrailer?: string }
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(headerAt, headerAt + length)))
  } catch (e) {
    throw new CheckpointFileError(`checkpoint header unreadable: ${(e as Error).message}`)
  }
  if (!header.state || typeof header.state.pages !== 'object')
    throw new CheckpointFileError('checkpoint without a feed state')
  const cp: Checkpoint = { state: header.state, sink: bytes.subarray(headerAt + length) }
  if (typeof header.ledgerTrailer === 'string') cp.ledgerTrailer = header.ledgerTrailer
  if (typeof header.ledger === 'string') cp.ledger = header.ledger
  return cp
}

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

/**
 * The ledger index from the snapshot the checkpoint names, or undefined (logged why) to rebuild it. A format 3
 * snapshot named by its trailer is read in parts (its head, then each record chunk into a buffer of its own,
 * hashed on the way): the head is freed after the restore, and only the chunks stay, as the index's record
 * storage. Anything else is read whole.
 */
export async function restoreLedger(
  file: string,
  cp: Checkpoint,
  federation: Uint8Array,
  log: (line: string) => void,
): Promise<LedgerIndex | undefined> {
  const fallback = (why: string) => {
    log(`lakou/node: ledger snapshot not used (${why}), rebuilding the ledger index from the documents`)
    return undefined
  }
  if (!cp.ledgerTrailer && !cp.ledger) return fallback('the checkpoint names none')
  let fh: FileHandle
  try {
    fh = await open(file, 'r')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return fallback(`${file} is missing`)
    throw e
  }
  try {
    const size = (await fh.stat()).size
    if (size < 32) return fallback('it is truncated')
    const layout = cp.ledgerTrailer ? snapshotLayout(await readAt(fh, 0, Math.min(size, 1 << 16))) : undefined
    if (layout && cp.ledgerTrailer) {
      const trailer = await readAt(fh, size - 32, 32)
      if (toHex(trailer) !== cp.ledgerTrailer)
        return fallback('it is not the one written with the checkpoint')
      const hash = createHash('sha256')
      const head = await readAt(fh, 0, layout.headLength)
      hash.update(head)
      const chunks: Uint8Array[] = []
      let at = layout.headLength
      for (const length of layout.chunkLengths) {
        const chunk = await readAt(fh, at, length)
        hash.update(chunk)
        chunks.push(chunk)
        at += length
      }
      if (at + 32 !== size) return fallback('its size does not match its layout')
      if (toHex(hash.digest()) !== cp.ledgerTrailer) return fallback('its content does not match its hash')
      return LedgerIndex.fromSnapshot({ head, chunks }, { federation })
    }
    const bytes = await readAt(fh, 0, size)
    // The trailer is the SHA-256 of the rest, which fromSnapshot checks: one hash pass over the file, not two.
    const named = cp.ledgerTrailer
      ? toHex(bytes.subarray(size - 32)) === cp.ledgerTrailer
      : sha256Hex(bytes) === cp.ledger
    if (!named) return fallback('it is not the one written with the checkpoint')
    return LedgerIndex.fromSnapshot(bytes, { federation })
  } catch (e) {
    if (e instanceof LedgerSnapshotError || e instanceof ShortReadError) return fallback(e.message)
    throw e
  } finally {
    await fh.close()
  }
}

class ShortReadError extends Error {
  override name = 'ShortReadError'
}

/** `length` bytes at `position`, into a buffer of their own (not a slice of a shared pool). */
async function readAt(fh: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length)
  let done = 0
  while (done < length) {
    const { bytesRead } = await fh.read(out, done, length - done, position + done)
    if (bytesRead === 0) throw new ShortReadError(`it ended ${length - done} bytes early`)
    done += bytesRead
  }
  return out
}
