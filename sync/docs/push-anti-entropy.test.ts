import { Repo } from '@automerge/automerge-repo'
import { describe, expect, it, vi } from 'vitest'
import { IndexFeed, type IngestOutcome } from './index-feed.ts'
import { DocumentLayout } from './layout.ts'
import { type ChainEntry, type ChainSource, RecordPush } from './push.ts'
import { DocStatusBoard } from './status.ts'
import { HashSetSink, RecordingPushTransport, record, until } from './test-helpers.ts'

/** Records (first byte..4 as the test record number) sent to `peer` in record batches. */
function recordsTo(transport: RecordingPushTransport, peer: string): number[] {
  return transport.sentTo
    .filter((s) => s.peer === peer && s.message.t === 'recs')
    .flatMap((s) => (s.message.recs as Uint8Array[][]).map((item) => numberOf(item[0]!)))
}

const numberOf = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset).getUint32(1)

/** Counts every ingest the sink is asked for (a copy dropped before validation never gets here). */
class CountingSink extends HashSetSink {
  calls = 0
  override ingest(bytes: Uint8Array): IngestOutcome {
    this.calls++
    return super.ingest(bytes)
  }
}

function setup(peers: string[], options: { chains?: ChainSource; batchMs?: number } = {}) {
  const sink = new CountingSink()
  const feed = new IndexFeed(new DocumentLayout(new Repo()), sink)
  const board = new DocStatusBoard({ coalesceMs: 1 })
  const transport = new RecordingPushTransport(peers)
  const push = new RecordPush(feed, board, transport, { summaryEveryMs: 0, ...options })
  return { sink, feed, board, transport, push }
}

describe('record push: copies, batches', () => {
  it('a copy of a record already validated is dropped before the sink; concurrent copies validate once', async () => {
    const { sink, feed, transport, push } = setup(['p1', 'p2', 'p3'])
    transport.deliver('p1', { t: 'rec', page: 'pg', index: 0, bytes: record(1) })
    transport.deliver('p2', { t: 'rec', page: 'pg', index: 0, bytes: record(1) }) // while the first validates
    await feed.idle()
    await until(() => push.stats.forwarded === 1)
    transport.deliver('p3', { t: 'recs', recs: [[record(1), 'pg', 0], [record(2)]] }) // later copy + a new one
    await feed.idle()
    await until(() => sink.applied === 2)
    expect(sink.calls).toBe(2) // record 1 once, record 2 once
    expect(push.stats.dropped).toBe(1)
    expect(push.stats.received).toBe(4)
  })

  it('forwarded records leave batched per peer, never to a peer that sent them first', async () => {
    const { transport, push } = setup(['p1', 'p2', 'p3'], { batchMs: 30 })
    transport.deliver('p1', { t: 'rec', page: 'pg', index: 0, bytes: record(1) })
    transport.deliver('p1', { t: 'rec', page: 'pg', index: 1, bytes: record(2) })
    await until(() => push.stats.forwarded === 2)
    // p2 sends record 2 before the batch leaves: it is struck from p2's queue.
    transport.deliver('p2', { t: 'rec', page: 'pg', index: 1, bytes: record(2) })
    await until(() => transport.sentTo.length > 0)
    expect(recordsTo(transport, 'p1')).toEqual([])
    expect(recordsTo(transport, 'p2')).toEqual([1])
    expect(recordsTo(transport, 'p3')).toEqual([1, 2])
    expect(transport.sentTo.filter((s) => s.peer === 'p3')).toHaveLength(1) // one frame for both
    expect(push.suppressed).toBe(1)
  })

  it('by default, forwards within 200 ms of each other share one frame per peer', async () => {
    vi.useFakeTimers()
    try {
      const { transport, push } = setup(['p1', 'p2'])
      transport.deliver('p1', { t: 'rec', page: 'pg', index: 0, bytes: record(1) })
      await vi.advanceTimersByTimeAsync(150)
      transport.deliver('p1', { t: 'rec', page: 'pg', index: 1, bytes: record(2) })
      await vi.advanceTimersByTimeAsync(10)
      expect(push.stats.forwarded).toBe(2)
      expect(transport.sentTo).toHaveLength(0) // still waiting (a 100 ms batch had left with record 1 alone)
      await vi.advanceTimersByTimeAsync(100)
      expect(transport.sentTo.map((s) => s.peer)).toEqual(['p2'])
      expect(recordsTo(transport, 'p2')).toEqual([1, 2])
      push.stop()
    } finally {
      vi.useRealTimers()
    }
  })

  it('a record to validate reaches the sink as its own bytes, not a view into the frame', async () => {
    const seen: Uint8Array[] = []
    const { sink, feed, transport } = setup(['p1', 'p2'])
    const ingest = sink.ingest.bind(sink)
    sink.ingest = (bytes) => {
      seen.push(bytes)
      return ingest(bytes)
    }
    transport.deliver('p1', { t: 'recs', recs: [[record(1)], [record(2)]] })
    await feed.idle()
    expect(seen).toHaveLength(2)
    for (const b of seen) expect(b.byteLength).toBe(b.buffer.byteLength) // the frame is not kept alive
    expect(seen.map(numberOf)).toEqual([1, 2])
  })

  it("a till's own record leaves at once, taking the forwards waiting for each peer in its frame", async () => {
    const { transport, push } = setup(['p1', 'p2', 'p3'], { batchMs: 60_000 })
    transport.deliver('p1', { t: 'rec', page: 'pg', index: 0, bytes: record(1) })
    await until(() => push.stats.forwarded === 1) // waits for p2 and p3 (not p1, which sent it)
    push.send('own' as never, 0, record(9))
    // No batch timer went off (60 s): each peer got exactly one frame, the own record first.
    expect(transport.sentTo.map((s) => s.peer).sort()).toEqual(['p1', 'p2', 'p3'])
    expect(recordsTo(transport, 'p1')).toEqual([9])
    expect(recordsTo(transport, 'p2')).toEqual([9, 1])
    expect(recordsTo(transport, 'p3')).toEqual([9, 1])
    const [own] = transport.sentTo[0]!.message.recs as unknown[][]
    expect(own!.slice(1)).toEqual(['own', 0]) // with its page and position
    push.stop()
  })

  it('a batch that is not a list of [bytes, page?, index?] gets the peer reported', () => {
    const { transport } = setup(['p1'])
    transport.deliver('rogue', { t: 'recs', recs: [[1, 2]] })
    transport.deliver('rogue', { t: 'recs', recs: 'x' })
    transport.deliver('rogue', { t: 'recs', recs: [[record(1), 'pg']] })
    expect(transport.misbehaving).toEqual(['rogue', 'rogue', 'rogue'])
  })
})

/** A fixed chain source: one device whose records 1..n are record(1)..record(n). */
class FixedChains implements ChainSource {
  asked: Array<{ theirs: Map<string, [number, string]>; settledMs: number }> = []
  constructor(readonly n: number) {}
  summary(): ChainEntry[] {
    return [['dev', this.n, `top${this.n}`]]
  }
  missing(theirs: Map<string, [number, string]>, max: number, settledMs: number): Uint8Array[] {
    this.asked.push({ theirs, settledMs })
    const from = (theirs.get('dev')?.[0] ?? 0) + 1
    const out: Uint8Array[] = []
    for (let i = from; i <= this.n && out.length < max; i++) out.push(record(i))
    return out
  }
}

describe('record push: anti-entropy', () => {
  it('announcing sends the chain summary; a peer summary is answered with what that peer lacks', async () => {
    const chains = new FixedChains(5)
    const { transport, push } = setup(['p1'], { chains })
    push.announce('p1')
    expect(transport.sentTo.map((s) => s.message.t)).toEqual(['have', 'sum'])
    expect(transport.sentTo[1]!.message).toEqual({ t: 'sum', hello: true, chains: [['dev', 5, 'top5']] })
    transport.deliver('p1', { t: 'sum', hello: true, chains: [['dev', 3, 'top3']] })
    expect(recordsTo(transport, 'p1')).toEqual([4, 5])
    expect(chains.asked[0]!.settledMs).toBe(0) // a hello: everything, however recent
    expect(push.stats.resent).toBe(2)
  })

  it('summaries are answered at most once a second per peer; a sooner one waits, periodic ones skip the newest', async () => {
    const chains = new FixedChains(2)
    const { transport, push } = setup(['p1', 'p2'], { chains })
    transport.deliver('p1', { t: 'sum', hello: false, chains: [] })
    transport.deliver('p1', { t: 'sum', hello: true, chains: [['dev', 1, 'top1']] }) // too soon: waits
    transport.deliver('p1', { t: 'sum', hello: false, chains: [['dev', 1, 'top1']] }) // replaces it, still a hello
    transport.deliver('p2', { t: 'sum', hello: false, chains: [['dev', 2, 'top2']] })
    expect(chains.asked).toHaveLength(2)
    expect(chains.asked[0]!.settledMs).toBeGreaterThan(0)
    expect(recordsTo(transport, 'p1')).toEqual([1, 2])
    expect(recordsTo(transport, 'p2')).toEqual([])
    await until(() => chains.asked.length === 3, 3000)
    expect(chains.asked[2]!.settledMs).toBe(0)
    expect(recordsTo(transport, 'p1')).toEqual([1, 2, 2])
    push.stop()
  })

  it('records received in answer are validated and forwarded to the other peers', async () => {
    const { sink, transport, push } = setup(['p1', 'p2'], { batchMs: 1 })
    transport.deliver('p1', { t: 'recs', recs: [[record(7)], [record(8)]] })
    await until(() => recordsTo(transport, 'p2').length === 2)
    expect(sink.applied).toBe(2)
    expect(recordsTo(transport, 'p1')).toEqual([])
    expect(push.stats.forwarded).toBe(2)
  })

  it('a malformed summary gets the peer reported', () => {
    const { transport } = setup(['p1'], { chains: new FixedChains(1) })
    transport.deliver('rogue', { t: 'sum', chains: [['dev', -1, 'x']] })
    transport.deliver('rogue', { t: 'sum', chains: 'all' })
    expect(transport.misbehaving).toEqual(['rogue', 'rogue'])
  })
})
