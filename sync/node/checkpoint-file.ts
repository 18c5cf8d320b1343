// <dataDir>/index.checkpoint: the index feed's per-page progress, the sync sink's state, and the name
// (SHA-256) of the ledger snapshot written with it. Format 2 is binary: a small JSON header then the sink
// bytes as they are (format 1 was one JSON document holding the sink state in base64: at 200k records
// ~20 MB of text built, parsed and decoded at every checkpoint and start). Format 1 is still read.
//   "LAKOU-CKPT" u8(2) u32le(headerLength) header(JSON: {state, ledger?}) sinkBytes
import { createHash } from 'node:crypto'
import type { FeedState } from '../docs/mod.ts'
import { readIfExists } from './files.ts'
import { LedgerIndex, LedgerSnapshotError, toHex } from './ledger.ts'

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

/** The file's bytes as two parts to write in order (the sink bytes are not copied). */
export function encodeCheckpoint(cp: Checkpoint): Uint8Array[] {
  const { sink, ...named } = cp
  const header = new TextEncoder().encode(JSON.stringify(named))
  const prefix = new Uint8Array(MAGIC.length + 1 + 4 + header.length)
  prefix.set(MAGIC)
  prefix[MAGIC.length] = VERSION
  new DataView(prefix.buffer).setUint32(MAGIC.length + 1, header.length, true)
  prefix.set(header, MAGIC.length + 1 + 4)
  return [prefix, sink]
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

/** The ledger index from the snapshot the checkpoint names, or undefined (logged why) to rebuild it. */
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
  const bytes = await readIfExists(file)
  if (!bytes) return fallback(`${file} is missing`)
  // The trailer is the SHA-256 of the rest, which fromSnapshot checks: one hash pass over the file, not two.
  const named = cp.ledgerTrailer
    ? toHex(bytes.subarray(Math.max(0, bytes.length - 32))) === cp.ledgerTrailer
    : sha256Hex(bytes) === cp.ledger
  if (!named) return fallback('it is not the one written with the checkpoint')
  try {
    return LedgerIndex.fromSnapshot(bytes, { federation })
  } catch (e) {
    if (e instanceof LedgerSnapshotError) return fallback(e.message)
    throw e
  }
}
