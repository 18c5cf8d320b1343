// Two yamux streams wired back to back (frames handed over in a microtask, as a socket would), so the
// frames each side sends can be counted: how many window updates answer a stream of small data frames,
// and whether a transfer larger than the window still completes (it needs the updates it does get).
import { defaultLogger } from '@libp2p/logger'
import { StreamState, YamuxStream } from '@libp2p/yamux/stream'
import { describe, expect, it } from 'vitest'
import { halfWindowUpdates } from './yamux-window.ts'

const WINDOW_UPDATE = 1 // yamux FrameType.WindowUpdate
const DATA = 0 // yamux FrameType.Data

interface Header {
  type: number
  length: number
}
type Frame = { header: Header; data?: { byteLength: number } }
interface Wired {
  handleData(frame: Frame): void
  handleWindowUpdate(frame: Frame): void
  send(data: Uint8Array): boolean
  onDrain(): Promise<void>
  writableNeedsDrain: boolean
  addEventListener(type: 'message', fn: (e: { data: { byteLength: number } }) => void): void
}

function pair() {
  const sent = { a: { data: 0, updates: 0 }, b: { data: 0, updates: 0 } }
  const streams: Record<'a' | 'b', Wired> = {} as Record<'a' | 'b', Wired>
  const make = (me: 'a' | 'b', other: 'a' | 'b') =>
    new YamuxStream({
      id: me,
      streamId: 1,
      state: StreamState.Established,
      direction: me === 'a' ? 'outbound' : 'inbound',
      log: defaultLogger().forComponent(`test:${me}`),
      getRTT: () => 1,
      sendFrame: (header: Header, data?: { byteLength: number }) => {
        if (header.type === DATA) sent[me].data++
        if (header.type === WINDOW_UPDATE) sent[me].updates++
        const frame = { header, data: data ?? undefined } as Frame
        queueMicrotask(() => {
          if (header.type === DATA) streams[other].handleData(frame)
          else if (header.type === WINDOW_UPDATE) streams[other].handleWindowUpdate(frame)
        })
        return true
      },
    } as unknown as ConstructorParameters<typeof YamuxStream>[0]) as unknown as Wired
  streams.a = make('a', 'b')
  streams.b = make('b', 'a')
  return { ...streams, sent }
}

async function transfer(a: Wired, b: Wired, frames: number, frameBytes: number): Promise<number> {
  let received = 0
  b.addEventListener('message', (e) => {
    received += e.data.byteLength
  })
  for (let i = 0; i < frames; i++) {
    if (!a.send(new Uint8Array(frameBytes).fill(i & 0xff))) await a.onDrain()
    // Let each frame arrive before the next, as small records do on a live link.
    await new Promise((r) => setImmediate(r))
  }
  for (let i = 0; i < 100 && received < frames * frameBytes; i++) await new Promise((r) => setImmediate(r))
  return received
}

describe('yamux window updates (halfWindowUpdates)', () => {
  it('answers small frames with one update per half window, not one per frame', async () => {
    halfWindowUpdates()
    const { a, b, sent } = pair()
    const frames = 2000
    const received = await transfer(a, b, frames, 300)
    expect(received).toBe(frames * 300)
    expect(sent.a.data).toBe(frames)
    // 600 KB through a 256 KiB window: an update each time half of it (128 KiB) is used.
    expect(sent.b.updates).toBeGreaterThanOrEqual(Math.floor((frames * 300) / (256 * 1024)))
    expect(sent.b.updates).toBeLessThanOrEqual(Math.ceil((frames * 300) / (128 * 1024)) + 1)
  })

  it('still lets a transfer far larger than the window through', async () => {
    halfWindowUpdates()
    const { a, b, sent } = pair()
    const frames = 256
    const received = await transfer(a, b, frames, 16 * 1024) // 4 MiB: 16 windows
    expect(received).toBe(frames * 16 * 1024)
    expect(sent.b.updates).toBeGreaterThan(0)
  })

  it('is idempotent: applying it twice wraps the method once', () => {
    halfWindowUpdates()
    const method = (YamuxStream.prototype as unknown as { sendWindowUpdate: unknown }).sendWindowUpdate
    halfWindowUpdates()
    expect((YamuxStream.prototype as unknown as { sendWindowUpdate: unknown }).sendWindowUpdate).toBe(method)
  })
})
