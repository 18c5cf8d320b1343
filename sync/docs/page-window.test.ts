// The page window of a catch-up (layout.ts, index-feed.ts): a new device loads at most `pageWindow` ledger
// pages at once, lowest page number first across devices, each holding its slot until its records are in the
// index; pages waiting meanwhile join one batch for the sink; a page nobody can give does not block the rest.
import { generateAutomergeUrl } from '@automerge/automerge-repo'
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
  #gate = Promise.withResolvers<void>()
  open(): void {
    this.#gate.resolve()
  }
  ingest(bytes: Uint8Array): IngestOutcome {
    return this.inner.ingest(bytes)
  }
  async ingestMany(batch: Uint8Array[]): Promise<IngestOutcome[]> {
    this.batches.push(batch.length)
    await this.#gate.promise
    return batch.map((b) => this.inner.ingest(b))
  }
  snapshot(): Uint8Array {
    return this.inner.snapshot()
  }
}

const CAPACITY = 4

async function twoDevices(pagesEach: number) {
  const pair = repoPair()
  const la = new DocumentLayout(pair.a)
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
    await until(() => Object.values(b.handles).every((h) => h.doc()?.lakou !== 'ledger-page'))
    feed.stop()
    lb.stop()
    await close()
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
