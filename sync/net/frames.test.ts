// FrameWriter under back-pressure, on a stream whose onDrain() behaves as libp2p's: once a first drain has
// resolved it, it stays resolved. The writer must wait for the next 'drain' event instead.
import { describe, expect, it } from 'vitest'
import { DrainableTestStream } from './drainable-test-stream.ts'
import { FrameWriter } from './frames.ts'

class FakeStream extends DrainableTestStream {
  sent = 0
  send() {
    this.sent++
    return true
  }
  close(error?: Error) {
    this.dispatchEvent(Object.assign(new Event('close'), { error }))
  }
}

const settle = () => new Promise((r) => setTimeout(r, 5))

describe('FrameWriter', () => {
  it('waits for each drain, also after a first one (no write while the stream needs a drain)', async () => {
    const stream = new FakeStream()
    const writer = new FrameWriter(stream as never)
    stream.writableNeedsDrain = true
    const first = writer.write(new Uint8Array([1]))
    await settle()
    expect(stream.sent).toBe(0)
    stream.drain()
    await first
    expect(stream.sent).toBe(1)
    stream.writableNeedsDrain = true // full again
    const second = writer.write(new Uint8Array([2]))
    await settle()
    expect(stream.sent).toBe(1)
    stream.drain()
    await second
    expect(stream.sent).toBe(2)
  })

  it('a stream that closes while the writer waits fails the write', async () => {
    const stream = new FakeStream()
    const writer = new FrameWriter(stream as never)
    stream.writableNeedsDrain = true
    const write = writer.write(new Uint8Array([1]))
    await settle()
    stream.close(new Error('gone'))
    await expect(write).rejects.toThrow('gone')
    expect(stream.sent).toBe(0)
  })
})
