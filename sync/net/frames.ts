// Length-prefixed frames (unsigned varint length, then the bytes) over a libp2p stream. The length is checked
// before the body is buffered, so an oversized frame costs the receiver a few bytes, not megabytes.
import type { Stream } from '@libp2p/interface'
import * as lp from 'it-length-prefixed'
import { FrameTooLargeError, MalformedFrameError } from './errors.ts'

/** Large enough for the first sync of a full ledger page, small enough to bound a rogue peer's cost. */
export const DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024

/**
 * Yields each frame's bytes; throws FrameTooLargeError or MalformedFrameError on a bad prefix or truncation.
 * `onLength` sees each frame's declared length before its body is buffered (budgets); what it throws ends
 * the read.
 */
export async function* readFrames(
  stream: Stream,
  maxFrameBytes: number,
  onLength?: (bytes: number) => void,
): AsyncGenerator<Uint8Array> {
  try {
    const frames = lp.decode(stream, { maxDataLength: maxFrameBytes, ...(onLength ? { onLength } : {}) })
    for await (const frame of frames) yield frame.subarray()
  } catch (err) {
    const name = (err as Error)?.name
    if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError') {
      throw new FrameTooLargeError(`frame larger than ${maxFrameBytes} bytes`)
    }
    if (name === 'InvalidMessageLengthError' || name === 'UnexpectedEOFError') {
      throw new MalformedFrameError(`bad frame length prefix (${name})`)
    }
    throw err
  }
}

/** Writes frames in order, waiting for the stream to drain instead of buffering without bound. */
export class FrameWriter {
  private tail: Promise<void> = Promise.resolve()

  constructor(
    private readonly stream: Stream,
    private readonly maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES,
  ) {}

  write(frame: Uint8Array): Promise<void> {
    if (frame.byteLength > this.maxFrameBytes) {
      return Promise.reject(new FrameTooLargeError(`refusing to send a ${frame.byteLength}-byte frame`))
    }
    const next = this.tail.then(async () => {
      while (this.stream.writableNeedsDrain) await nextDrain(this.stream)
      this.stream.send(lp.encode.single(frame))
    })
    // Keep the chain alive after a failed write; the caller still sees the failure through `next`.
    this.tail = next.catch(() => {})
    return next
  }
}

/**
 * Resolves on the stream's next 'drain' event (at once if it needs none); rejects if it closes first. Not
 * stream.onDrain(): libp2p (utils 7) keeps the promise its first drain resolved, so later calls resolve at
 * once while the stream still needs a drain (a writer then buffered without bound; a loop re-arming on it
 * spun forever).
 */
export function nextDrain(stream: Stream): Promise<void> {
  if (!stream.writableNeedsDrain) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      stream.removeEventListener('close', onClose)
      resolve()
    }
    const onClose = (evt: Event) => {
      stream.removeEventListener('drain', onDrain)
      reject((evt as Event & { error?: Error }).error ?? new Error('stream closed while waiting for a drain'))
    }
    stream.addEventListener('drain', onDrain, { once: true })
    stream.addEventListener('close', onClose, { once: true })
  })
}
