import { describe, expect, it } from 'vitest'
import { DrainableTestStream } from '../net/drainable-test-stream.ts'
import { Libp2pPushTransport } from './push-protocol.ts'

/**
 * A stream that can be made to need a drain, recording what it was sent. Events as libp2p's ('drain',
 * 'close'), and its onDrain() as libp2p's too: once resolved by a first drain it stays resolved.
 */
class FakeStream extends DrainableTestStream {
  status = 'open'
  writeStatus = 'writable'
  sent: Uint8Array[] = []
  aborted: Error | undefined
  send(frame: { subarray(): Uint8Array }) {
    if (this.writeStatus !== 'writable')
      throw new Error(`Cannot write to a stream that is ${this.writeStatus}`)
    this.sent.push(frame.subarray())
    return true
  }
  abort(err: Error) {
    this.aborted = err
    this.status = 'aborted'
    this.dispatchEvent(new Event('close'))
  }
  close() {
    return Promise.resolve()
  }
}

function setup() {
  const stream = new FakeStream()
  const connection = { remotePeer: { toString: () => 'p1' }, status: 'open', newStream: async () => stream }
  const host = { getConnections: () => [connection], handle: async () => {}, unhandle: async () => {} }
  const access = {
    isAuthenticated: (p: string) => p === 'p1',
    authenticatedPeers: () => ['p1'],
    on: () => () => {},
  }
  const transport = new Libp2pPushTransport(host as never, access as never)
  return { stream, transport }
}

const message = (n: number, size = 8) => new Uint8Array(size).fill(n)
const payloads = (s: FakeStream) => s.sent.map((f) => f[f.length - 1])
const settle = () => new Promise((r) => setTimeout(r, 5))

describe('record push transport under back-pressure', () => {
  it('frames wait in order while the stream needs a drain, and leave when it drains', async () => {
    const { stream, transport } = setup()
    transport.sendTo('p1', message(1))
    await settle()
    stream.writableNeedsDrain = true
    transport.sendTo('p1', message(2))
    transport.sendTo('p1', message(3))
    await settle()
    expect(payloads(stream)).toEqual([1])
    stream.drain()
    await settle()
    transport.sendTo('p1', message(4)) // the queue is empty again: straight out
    await settle()
    expect(payloads(stream)).toEqual([1, 2, 3, 4])
  })

  it('holds at most 4 MiB per peer; beyond that frames are dropped', async () => {
    const { stream, transport } = setup()
    stream.writableNeedsDrain = true
    for (let i = 0; i < 6; i++) transport.sendTo('p1', message(i, 1024 * 1024))
    await settle()
    stream.drain()
    await settle()
    expect(payloads(stream)).toEqual([0, 1, 2])
  })

  it('back-pressure after a first drain waits for the next drain (no busy loop on a stale onDrain)', async () => {
    const { stream, transport } = setup()
    stream.writableNeedsDrain = true
    transport.sendTo('p1', message(1))
    await settle()
    stream.drain()
    await settle()
    stream.writableNeedsDrain = true // full again
    transport.sendTo('p1', message(2))
    transport.sendTo('p1', message(3))
    await settle()
    expect(stream.onDrainCalls).toBeLessThan(5)
    expect(payloads(stream)).toEqual([1])
    stream.drain()
    await settle()
    expect(payloads(stream)).toEqual([1, 2, 3])
  })

  it('a stream that stops taking writes while still open drops its held frames (no busy loop)', async () => {
    const { stream, transport } = setup()
    stream.writableNeedsDrain = true
    transport.sendTo('p1', message(1))
    transport.sendTo('p1', message(2))
    await settle()
    // A cut closes the connection: the stream's write side closes before its status leaves 'open'.
    stream.writeStatus = 'closing'
    stream.drain()
    await settle()
    expect(stream.onDrainCalls).toBeLessThan(5)
    expect(stream.aborted).toBeDefined()
    expect(stream.sent).toEqual([])
    stream.writeStatus = 'writable'
    stream.status = 'open' // (as the next stream would be: the fake connection hands out the same one)
    transport.sendTo('p1', message(3)) // the held frames are gone, not sent late
    await settle()
    expect(payloads(stream)).toEqual([3])
  })

  it('sends nothing to a peer that has not passed the handshake', async () => {
    const { stream, transport } = setup()
    transport.sendTo('stranger', message(1))
    await settle()
    expect(stream.sent).toEqual([])
  })
})
