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
      if (this.stream.writableNeedsDrain) await this.stream.onDrain()
      this.stream.send(lp.encode.single(frame))
    })
    // Keep the chain alive after a failed write; the caller still sees the failure through `next`.
    this.tail = next.catch(() => {})
    return next
  }
}
