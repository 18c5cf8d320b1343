// libp2p's LengthPrefixedDecoder (@libp2p/utils 7; noise 17 reads every encrypted message through one)
// loops "decode a length, yield a message" until its length decoder throws a RangeError for want of bytes.
// A chunk that held whole messages ends with an empty buffer, so every chunk read from a connection threw
// (and caught) a fresh RangeError, stack trace included: 5.9 us per chunk against 1.3 us without it here,
// and noise's uint16BEDecode was the largest self-time item of a festival till's read path (1.7% of its
// main thread). No length can be read from zero bytes: the wrapped decoder throws one shared RangeError
// for an empty buffer, which the loop catches as before; anything else reaches the original decoder.
import { LengthPrefixedDecoder } from '@libp2p/utils'
import type { Uint8ArrayList } from 'uint8arraylist'

type LengthDecoder = ((data: Uint8Array | Uint8ArrayList) => number) & { bytes?: number }

/** The fields the wrapper reads (plain properties at run time). */
interface DecoderFields {
  lengthDecoder: LengthDecoder
  decode(buf: Uint8Array | Uint8ArrayList): Generator<Uint8ArrayList>
}

const PATCHED = Symbol.for('lakou.lengthPrefixedDecoder.emptyBuffer')
const GUARDED = Symbol.for('lakou.lengthPrefixedDecoder.guarded')
const NO_LENGTH_YET = new RangeError('no length prefix in an empty buffer')

/** A length decoder that throws the shared RangeError for an empty buffer (exported for tests). */
export function guardEmpty(decoder: LengthDecoder): LengthDecoder {
  if ((decoder as { [GUARDED]?: true })[GUARDED]) return decoder
  const guarded: LengthDecoder = (data) => {
    if (data.byteLength === 0) throw NO_LENGTH_YET
    return decoder(data)
  }
  if (decoder.bytes !== undefined) guarded.bytes = decoder.bytes
  ;(guarded as { [GUARDED]?: true })[GUARDED] = true
  return guarded
}

/** Makes LengthPrefixedDecoders skip the throw on an empty buffer. Idempotent; applies process-wide. */
export function quietLengthPrefixDecoders(): void {
  const proto = LengthPrefixedDecoder.prototype as unknown as DecoderFields & { [PATCHED]?: true }
  if (proto[PATCHED]) return
  const original = proto.decode
  if (typeof original !== 'function') return // another version: leave it as it is
  proto.decode = function (this: DecoderFields, buf: Uint8Array | Uint8ArrayList) {
    if (typeof this.lengthDecoder === 'function') this.lengthDecoder = guardEmpty(this.lengthDecoder)
    return original.call(this, buf)
  }
  proto[PATCHED] = true
}
