import { cbor, Repo } from '@automerge/automerge-repo'
import { describe, expect, it } from 'vitest'
import { IndexFeed } from './index-feed.ts'
import { DocumentLayout } from './layout.ts'
import { RecordPush } from './push.ts'
import { DocStatusBoard } from './status.ts'
import { HashSetSink, RecordingPushTransport, record, until } from './test-helpers.ts'

function setup() {
  const sink = new HashSetSink()
  const feed = new IndexFeed(new DocumentLayout(new Repo()), sink)
  const board = new DocStatusBoard({ coalesceMs: 1 })
  const transport = new RecordingPushTransport()
  const push = new RecordPush(feed, board, transport)
  return { sink, feed, board, transport, push }
}

describe('direct record push', () => {
  it('a pushed record is validated into the index and tells how long the page is', async () => {
    const { sink, board, transport, feed } = setup()
    transport.deliver('p1', { t: 'rec', page: 'pageA', index: 4, bytes: record(1) })
    await feed.idle()
    expect(sink.applied).toBe(1)
    expect(board.get('pageA' as never)).toMatchObject({ known: 5, indexed: 0, behind: 5 })
    board.indexed('pageA' as never, { venueId: 'v', deviceId: 'd', page: 0, indexed: 5 })
    expect(board.get('pageA' as never)).toMatchObject({ behind: 0 })
    expect(board.summary()).toMatchObject({ inSync: true })
  })

  it('pushed records count as indexed once every record before them is held, in any order', async () => {
    const { board, transport, feed } = setup()
    const page = 'pageD' as never
    board.indexed(page, { venueId: 'v', deviceId: 'd', page: 0, indexed: 2 })
    transport.deliver('p1', { t: 'rec', page: 'pageD', index: 3, bytes: record(13) }) // ahead of a gap
    await feed.idle()
    await until(() => board.get(page)!.known === 4)
    expect(board.get(page)).toMatchObject({ indexed: 2, behind: 2 })
    transport.deliver('p2', { t: 'rec', page: 'pageD', index: 2, bytes: record(12) }) // fills it
    await feed.idle()
    await until(() => board.get(page)!.indexed === 4)
    expect(board.get(page)).toMatchObject({ known: 4, behind: 0 })
  })

  it('a newly applied record is forwarded once to the other peers, never a duplicate or refused one', async () => {
    const { sink, transport, feed, push } = setup()
    const r = record(3)
    transport.deliver('p1', { t: 'rec', page: 'pageC', index: 0, bytes: r })
    transport.deliver('p2', { t: 'rec', page: 'pageC', index: 0, bytes: r }) // the same, from another peer
    await feed.idle()
    await until(() => transport.broadcasts.length > 0)
    const bad = record(4)
    bad[0] = 9
    transport.deliver('p3', { t: 'rec', page: 'pageC', index: 1, bytes: bad })
    await feed.idle()
    await new Promise((r) => setTimeout(r, 10))
    expect(sink.applied).toBe(1)
    expect(transport.broadcasts).toHaveLength(1)
    const [fwd] = transport.broadcasts
    expect(fwd!.except).toBe('p1') // not back to the peer it came from
    expect(fwd!.message).toMatchObject({ t: 'rec', page: 'pageC', index: 0 })
    expect(new Uint8Array((fwd!.message as { bytes: Uint8Array }).bytes)).toEqual(r)
    expect(push.stats.forwarded).toBe(1)
  })

  it('a record that fails validation says nothing about the page; garbage gets the peer reported', async () => {
    const { sink, board, transport, feed } = setup()
    const bad = record(2)
    bad[0] = 9 // the test sink rejects it
    transport.deliver('p1', { t: 'rec', page: 'pageB', index: 99, bytes: bad })
    await feed.idle()
    expect(sink.rejected).toBe(1)
    expect(board.get('pageB' as never)).toBeUndefined()
    transport.deliver('rogue', new Uint8Array([0xff, 0x00, 0x13]))
    transport.deliver('rogue', { t: 'rec', page: 1, index: 'x' })
    transport.deliver('rogue', { t: 'what' })
    transport.deliver('rogue', [1, 2, 3])
    expect(transport.misbehaving).toEqual(['rogue', 'rogue', 'rogue', 'rogue'])
  })

  it('"have" counts above a page capacity are ignored; valid ones set known', () => {
    const { board, transport, push } = setup()
    transport.deliver('p1', { t: 'have', counts: { pageC: 7, pageD: 10 ** 9 } })
    expect(board.get('pageC' as never)?.known).toBe(7)
    expect(board.get('pageD' as never)).toBeUndefined()
    board.indexed('pageC' as never, { venueId: 'v', deviceId: 'd', page: 0, indexed: 7 })
    push.announce()
    expect(cbor.decode(transport.sent[0]!)).toEqual({ t: 'have', counts: { pageC: 7 } })
  })

  it('a push is not held up behind a slow ingest (no head-of-line blocking)', async () => {
    const sink = new HashSetSink()
    const gate = Promise.withResolvers<void>()
    const slow = record(1)
    const gated = {
      ingest: async (bytes: Uint8Array) => {
        if (bytes === slow) await gate.promise
        return sink.ingest(bytes)
      },
      snapshot: () => sink.snapshot(),
    }
    const feed = new IndexFeed(new DocumentLayout(new Repo()), gated)
    const first = feed.push(slow)
    const second = await Promise.race([
      feed.push(record(2)),
      new Promise((r) => setTimeout(() => r('blocked'), 500)),
    ])
    expect(second).toBe('applied')
    let idle = false
    void feed.idle().then(() => {
      idle = true
    })
    await new Promise((r) => setTimeout(r, 20))
    expect(idle).toBe(false) // idle() waits for the push still in flight
    gate.resolve()
    expect(await first).toBe('applied')
    await until(() => idle)
  })
})
