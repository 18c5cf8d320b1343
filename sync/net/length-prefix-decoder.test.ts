import { LengthPrefixedDecoder } from '@libp2p/utils'
import type { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { guardEmpty, quietLengthPrefixDecoders } from './length-prefix-decoder.ts'

// noise's length decoder (@libp2p/noise 17 encoder.ts), counting the buffer sizes it is asked to read
function uint16Decoder(seen: number[]) {
  return (data: Uint8Array | Uint8ArrayList): number => {
    seen.push(data.byteLength)
    if (data.byteLength < 2) throw new RangeError('Could not decode int16BE')
    return data instanceof Uint8Array ? (data[0]! << 8) + data[1]! : data.getUint16(0)
  }
}

function frame(payload: number[]): Uint8Array {
  return Uint8Array.from([payload.length >> 8, payload.length & 0xff, ...payload])
}

const decoderWith = (seen: number[]) =>
  new LengthPrefixedDecoder({ lengthDecoder: uint16Decoder(seen), encodingLength: () => 2 })

describe('length-prefixed decoders after quietLengthPrefixDecoders()', () => {
  it('never ask their length decoder to read an empty buffer, and yield the same messages', () => {
    quietLengthPrefixDecoders()
    quietLengthPrefixDecoders() // idempotent
    const seen: number[] = []
    const d = decoderWith(seen)
    const whole = [...frame([1, 2, 3]), ...frame([4])]
    const out = [...d.decode(Uint8Array.from(whole))].map((b) => [...b.subarray()])
    expect(out).toEqual([[1, 2, 3], [4]])
    expect(seen).not.toContain(0) // unpatched: the loop ended by reading a length from 0 bytes (a throw)
    // a message split across chunks, its prefix too
    const split = frame([7, 8, 9])
    expect([...d.decode(split.subarray(0, 1))]).toEqual([])
    expect([...d.decode(split.subarray(1, 3))]).toEqual([])
    expect([...d.decode(split.subarray(3))].map((b) => [...b.subarray()])).toEqual([[7, 8, 9]])
    expect(seen.filter((n) => n === 0)).toEqual([])
  })

  it('still refuse a length over the limit', () => {
    quietLengthPrefixDecoders()
    const d = new LengthPrefixedDecoder({
      lengthDecoder: uint16Decoder([]),
      encodingLength: () => 2,
      maxDataLength: 2,
    })
    expect(() => [...d.decode(frame([1, 2, 3]))]).toThrow(/length/i)
  })

  it('guardEmpty keeps the decoder for any non-empty buffer and wraps once', () => {
    const seen: number[] = []
    const g = guardEmpty(uint16Decoder(seen))
    expect(guardEmpty(g)).toBe(g)
    expect(() => g(new Uint8Array(0))).toThrow(RangeError)
    expect(seen).toEqual([])
    expect(() => g(new Uint8Array(1))).toThrow(RangeError)
    expect(g(Uint8Array.from([1, 2]))).toBe(258)
    expect(seen).toEqual([1, 2])
  })
})
