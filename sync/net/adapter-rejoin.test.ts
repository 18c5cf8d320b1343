// A peer that re-opens its sync stream while this side still holds the link: the new stream's join.
import type { Message, PeerId as RepoPeerId } from '@automerge/automerge-repo'
import { cbor } from '@automerge/automerge-repo/slim'
import type { Libp2p } from '@libp2p/interface'
import * as lp from 'it-length-prefixed'
import { describe, expect, it } from 'vitest'
import { Libp2pNetworkAdapter, type PeerGate } from './libp2p-network-adapter.ts'

/** An inbound stream that delivers `messages` as frames, then stays open. */
class InboundStream extends EventTarget {
  aborted = false
  constructor(private readonly messages: unknown[]) {
    super()
  }
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (const m of this.messages) yield lp.encode.single(new Uint8Array(cbor.encode(m))).subarray()
    await new Promise(() => {})
  }
  abort(): void {
    this.aborted = true
  }
}

function adapterWithStubs() {
  let handler: ((stream: unknown, connection: unknown) => void) | undefined
  const libp2p = {
    handle: async (_p: string, h: typeof handler) => {
      handler = h
    },
    unhandle: async () => {},
    addEventListener: () => {},
    removeEventListener: () => {},
    getConnections: () => [],
  } as unknown as Libp2p
  const dropped: string[] = []
  const gate: PeerGate = {
    isAuthenticated: () => true,
    whenAuthenticated: async () => {},
    principalOf: () => undefined,
    authenticatedPeers: () => [],
    on: () => () => {},
    drop: (_peer, error) => dropped.push(`${error.name}: ${error.message}`),
  }
  const adapter = new Libp2pNetworkAdapter({ libp2p, gate, readyTimeoutMs: 10 })
  const messages: Message[] = []
  adapter.on('message', (m) => messages.push(m))
  adapter.connect('self' as RepoPeerId)
  const open = async (from: string, frames: unknown[]) => {
    await expect.poll(() => handler).toBeDefined()
    const stream = new InboundStream(frames)
    handler!(stream, { remotePeer: { toString: () => from } })
    return stream
  }
  return { adapter, open, dropped, messages }
}

const join = (senderId: string) => ({ type: 'join', senderId, peerMetadata: {} })
const request = (senderId: string) => ({
  type: 'request',
  senderId,
  targetId: 'self',
  documentId: 'doc',
  data: new Uint8Array(0),
})

describe('Libp2pNetworkAdapter: a join on a new stream of a joined link', () => {
  it('is taken as the same peer joining again, not as a message to someone else', async () => {
    const { adapter, open, dropped, messages } = adapterWithStubs()
    const first = await open('peerB', [join('peerB'), request('peerB')])
    await expect.poll(() => messages.length).toBe(1)
    // peerB's side of the link closed and opened again while ours stayed up
    await open('peerB', [join('peerB'), request('peerB')])
    await expect.poll(() => messages.length).toBe(2)
    expect(dropped).toEqual([]) // was: "MalformedFrameError: message is not addressed to this peer"
    expect(first.aborted).toBe(true) // the older stream gave way
    adapter.disconnect()
  })

  it('refuses a new stream that joins under another id', async () => {
    const { adapter, open, dropped, messages } = adapterWithStubs()
    await open('peerB', [join('peerB'), request('peerB')])
    await expect.poll(() => messages.length).toBe(1)
    await open('peerB', [join('peerX'), request('peerB')])
    await expect
      .poll(() => dropped)
      .toEqual(["MalformedFrameError: a new stream joins as peerX, not as its link's peer"])
    expect(messages).toHaveLength(1)
    adapter.disconnect()
  })
})
