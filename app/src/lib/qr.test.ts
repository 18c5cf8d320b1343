import { encode } from 'uqr'
import { describe, expect, it } from 'vitest'
import { decodeQr } from './qr.ts'

/** Rasterises a QR matrix like a camera frame: white margin, `scale` pixels per module, RGBA. */
function raster(text: string, scale = 4, margin = 4) {
  const { data } = encode(text)
  const size = (data.length + margin * 2) * scale
  const rgba = new Uint8ClampedArray(size * size * 4).fill(255)
  for (const [y, row] of data.entries())
    for (const [x, dark] of row.entries()) {
      if (!dark) continue
      for (let dy = 0; dy < scale; dy++)
        for (let dx = 0; dx < scale; dx++) {
          const i = (((y + margin) * scale + dy) * size + (x + margin) * scale + dx) * 4
          rgba[i] = rgba[i + 1] = rgba[i + 2] = 0
        }
    }
  return { rgba, size }
}

describe('decodeQr', () => {
  it('reads back the ticket codes the portal shows as QR codes', () => {
    for (const code of [
      'T-50DA67071988',
      'T-000000000000',
      'http://127.0.0.1:8787/enroll?token=ab12&name=Caisse%20jardin',
    ]) {
      const { rgba, size } = raster(code)
      expect(decodeQr(rgba, size, size)).toBe(code)
    }
  })

  it('finds nothing in a blank frame', () => {
    expect(decodeQr(new Uint8ClampedArray(64 * 64 * 4).fill(255), 64, 64)).toBeUndefined()
  })
})
