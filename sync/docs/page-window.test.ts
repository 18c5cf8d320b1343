// The page window of a catch-up (layout.ts, index-feed.ts): a new device loads at most `pageWindow` ledger
// pages at once, lowest page number first across devices, each holding its slot until its records are in the
// index; pages waiting meanwhile join one batch for the sink; a page nobody can give does not block the rest.
// Full pages asked whole have a window of their own (wholePageWindow), apart from devices' last pages.
import { type DocumentId, generateAutomergeUrl, Repo } from '@automerge/automerge-repo'
import { MessageChannelNetworkAdapter } from '@automerge/automerge-repo-network-messagechannel'
import { describe, expect, it } from 'vitest'
import { IndexFeed, type IngestOutcome, type RecordSink } from './index-feed.ts'
import { DocumentLayout } from './layout.ts'
import { PageWriter } from './page-writer.ts'
import { imm } from './schema.ts'
import { HashSetSink, record, repoPair, until } from './test-helpers.ts'

/** A HashSetSink whose batches wait for `open()`; remembers each batch's size. */
class GatedSink implements RecordSink {
  readonly inner = new HashSetSink()
  readonly batches: number[] = []
  readonly items = new Set<Uint8Array>()
  #gate = Promise.withResolvers<void>()
  open(): void {
    this.#gate.resolve()
  }
  ingest(bytes: Uint8Array): IngestOutcome {
    return this.inner.ingest(bytes)
  }
  async ingestMany(batch: Uint8Array[]): Promise<IngestOutcome[]> {
    this.batches.push(batch.length)
    for (const b of batch) this.items.add(b)
    await this.#gate.promise
    return batch.map((b) => this.inner.ingest(b))
  }
  snapshot(): Uint8Array {
    return this.inner.snapshot()
  }
}

const CAPACITY = 4

let classifyA: (id: DocumentId) => { kind: string } | undefined = () => undefined
// Like repoPair, but `a` announces no ledger page (as full indexed pages are not announced by nodes): `b`
// asks for each page it wants.
function pairNotAnnouncingPages() {
  const { port1, port2 } = new MessageChannel()
  const a = new Repo({
    network: [new MessageChannelNetworkAdapter(port1)],
    shareConfig: {
      announce: async (_peer, id) => id === undefined || classifyA(id)?.kind !== 'ledger-page',
      access: async () => true,
    },
  })
  const b = new Repo({ network: [new MessageChannelNetworkAdapter(port2)] })
  return {
    a,
    b,
    async close() {
      await Promise.all([a.shutdown(), b.shutdown()])
      port1.close()
      port2.close()
    },
  }
}

async function twoDevices(pagesEach: number, o: { announcePages?: boolean } = {}) {
  const pair = o.announcePages === false ? pairNotAnnouncingPages() : repoPair()
  const la = new DocumentLayout(pair.a)
  classifyA = (id) => la.classify(id)
  const fed = la.createFederation('f1')
  const venue = la.createVenue(fed, 'v1')
  let n = 0
  for (const device of ['d1', 'd2']) {
    const w = await PageWriter.open(la, venue, device, { capacity: CAPACITY })
    for (let i = 0; i < pagesEach * CAPACITY; i++) await w.append(record(n++))
    await w.close()
  }
  return { ...pair, la, fed, venue, records: n }
}

describe('page window', () => {
  it('loads pages lowest number first, no more than the window until the index lets go, in one batch', async () => {
    const { b, fed, records, close } = await twoDevices(3)
    const lb = new DocumentLayout(b, { retryMs: 50, pageWindow: 4 })
    const sink = new GatedSink()
    const feed = new IndexFeed(lb, sink, undefined, { capacity: CAPACITY })
    const order: number[] = []
    lb.on('page', (_h, cls) => order.push(cls.page))
    feed.start()
    await lb.follow(fed.url)
    await until(() => order.length === 4)
    // The first page's batch is held by the sink: nothing else may load, whatever the time.
    await new Promise((r) => setTimeout(r, 300))
    expect(order.length).toBe(4)
    expect([...order].sort()).toEqual([0, 0, 1, 1])
    expect(lb.pagesWaiting).toBe(2)
    sink.open()
    await until(() => sink.inner.applied === records)
    await feed.idle()
    expect(order.slice(4)).toEqual([2, 2])
    // Pages that arrived while a batch was held joined the next one: the first four pages reached the sink
    // in at most two batches (one per page without the coalescing), the six in at most four.
    const [first = 0, second = 0] = sink.batches
    expect(first === 4 * CAPACITY ? first : first + second).toBe(4 * CAPACITY)
    expect(sink.batches.length).toBeLessThanOrEqual(4)
    expect(sink.batches.reduce((a, n) => a + n, 0)).toBe(records)
    // Every full page, once indexed, left memory.
    await until(() =>
      Object.values(b.handles).every((h) => !h.isReady() || h.doc()?.lakou !== 'ledger-page/v1'),
    )
    feed.stop()
    lb.stop()
    await close()
  })

  it('full pages that come whole are indexed without a handle; their slots go back as their batch starts', async () => {
    const { a, b, fed, records, close } = await twoDevices(3, { announcePages: false })
    // A source that gives a full page whole (what sync/node/page-transfer.ts does over libp2p).
    const asked: number[] = []
    const given: Uint8Array[][] = []
    const fullPages = async (want: { documentId: DocumentId; page: number }) => {
      asked.push(want.page)
      const got = a.handles[want.documentId]?.doc()?.records
      if (got?.length !== CAPACITY) return undefined
      given.push([...got])
      return given.at(-1)
    }
    // pages 0 and 1 of each device are full (a later page follows): the whole-page window (2); page 2 is
    // each device's last (it may still grow): the page window (1), found through the repo, not asked whole
    const lb = new DocumentLayout(b, { retryMs: 50, pageWindow: 1, wholePageWindow: 2, fullPages })
    const sink = new GatedSink()
    const feed = new IndexFeed(lb, sink, undefined, { capacity: CAPACITY })
    feed.start()
    await lb.follow(fed.url)
    // The pages of the first batch gave their slots back when it went to the sink (held there): as many
    // pages as the two windows hold wait for the next batch, each holding a slot. Nothing else is asked
    // for, whatever the time.
    // whole pages whose records went to the sink (their slots are back)
    const wholeInSink = () => given.filter((p) => p.every((r) => sink.items.has(r))).length
    await until(() => sink.batches.length === 1 && asked.length === Math.min(4, wholeInSink() + 2))
    await new Promise((r) => setTimeout(r, 300))
    expect(asked.length).toBe(Math.min(4, wholeInSink() + 2))
    expect(sink.batches).toHaveLength(1)
    expect(asked).toEqual([...asked].sort())
    sink.open()
    await until(() => sink.inner.applied === records)
    await feed.idle()
    // the last pages were never asked whole; they came through the repo and left memory once indexed
    expect(asked).toEqual([0, 0, 1, 1])
    expect(lb.pagesCameWhole).toBe(4)
    // Every page is counted full and indexed (a checkpoint lets a restart skip them).
    expect(feed.completePages().size).toBe(6)
    await until(() =>
      Object.values(b.handles).every((h) => !h.isReady() || h.doc()?.lakou !== 'ledger-page/v1'),
    )
    feed.stop()
    lb.stop()
    await close()
  })

  it('full pages asked whole do not wait behind last pages that no peer gives', async () => {
    const { a, b, fed, venue, close } = await twoDevices(3, { announcePages: false })
    // Six devices whose only page (page 0, their last) exists nowhere: in one window with the full pages,
    // lowest number first, they took the slots (slotTimeoutMs each) before page 1 of any device.
    venue.change((d) => {
      for (let k = 0; k < 6; k++) d.pages[`x${k}`] = [imm(generateAutomergeUrl())]
    })
    const fullPages = async (want: { documentId: DocumentId }) => {
      const got = a.handles[want.documentId]?.doc()?.records
      return got?.length === CAPACITY ? [...got] : undefined
    }
    const lb = new DocumentLayout(b, {
      retryMs: 50,
      pageWindow: 1,
      wholePageWindow: 2,
      slotTimeoutMs: 60_000,
      fullPages,
    })
    const sink = new HashSetSink()
    const feed = new IndexFeed(lb, sink, undefined, { capacity: CAPACITY })
    feed.start()
    await lb.follow(fed.url)
    // pages 0 and 1 of d1 and d2 (page 2, their last, waits behind the missing pages in the page window)
    await until(() => sink.applied === 4 * CAPACITY)
    expect(lb.pagesCameWhole).toBe(4)
    feed.stop()
    lb.stop()
    await close()
  })

  it('a page not full gives its slot back once its records are handed over, not when the ledger took them', async () => {
    const pair = repoPair()
    const la = new DocumentLayout(pair.a)
    const fed = la.createFederation('f1')
    const venue = la.createVenue(fed, 'v1')
    // six devices, each with one page of 2 records (capacity 4): their last pages, partial
    let n = 0
    for (let d = 0; d < 6; d++) {
      const w = await PageWriter.open(la, venue, `d${d}`, { capacity: CAPACITY })
      for (let i = 0; i < 2; i++) await w.append(record(n++))
      await w.close()
    }
    const lb = new DocumentLayout(pair.b, { retryMs: 50, pageWindow: 1 })
    const sink = new GatedSink()
    const feed = new IndexFeed(lb, sink, undefined, { capacity: CAPACITY })
    feed.start()
    await lb.follow(fed.url)
    // The first page's batch is held by the sink; with a window of one, every other page is still taken
    // from the queue and handed over (they wait in the next batch), not one page per ledger batch.
    await until(() => sink.batches.length === 1 && lb.pagesWaiting === 0)
    await new Promise((r) => setTimeout(r, 200))
    expect(sink.batches).toHaveLength(1)
    sink.open()
    await until(() => sink.inner.applied === n)
    await feed.idle()
    feed.stop()
    lb.stop()
    await pair.close()
  })

  it('a page no peer can give gives its slot back, and the other pages are indexed', async () => {
    const { b, fed, venue, records, close } = await twoDevices(2)
    // Page 0 of a device whose page doc exists nowhere: lowest number, so first in line.
    venue.change((d) => {
      d.pages.d0 = [imm(generateAutomergeUrl())]
    })
    const lb = new DocumentLayout(b, { retryMs: 50, pageWindow: 1, slotTimeoutMs: 200 })
    const sink = new HashSetSink()
    const feed = new IndexFeed(lb, sink, undefined, { capacity: CAPACITY })
    feed.start()
    await lb.follow(fed.url)
    await until(() => sink.applied === records)
    await feed.idle()
    expect(sink.applied).toBe(records)
    feed.stop()
    lb.stop()
    await close()
  })
})
