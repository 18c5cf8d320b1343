import { describe, expect, it } from 'vitest'
import { Libp2pPushTransport } from './push-protocol.ts'

/** A stream that can be made to need a drain, recording what it was sent. */
class FakeStream {
  status = 'open'
  writableNeedsDrain = false
  sent: Uint8Array[] = []
  #drain = Promise.withResolvers<void>()
  send(frame: { subarray(): Uint8Array }) {
    this.sent.push(frame.subarray())
    return true
  }
  onDrain() {
    return this.#drain.promise
  }
  drain() {
    this.writableNeedsDrain = false
    const d = this.#drain
    this.#drain = Promise.withResolvers<void>()
    d.resolve()
  }
  addEventListener() {}
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

  it('sends nothing to a peer that has not passed the handshake', async () => {
    const { stream, transport } = setup()
    transport.sendTo('stranger', message(1))
    await settle()
    expect(stream.sent).toEqual([])
  })
})
