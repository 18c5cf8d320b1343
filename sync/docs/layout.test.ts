import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { getAllChanges } from '@automerge/automerge'
import { type DocumentId, Repo } from '@automerge/automerge-repo'
import { afterEach, describe, expect, it } from 'vitest'
import { DurableFsStorageAdapter } from './durable-storage.ts'
import { InvalidRecordBytesError } from './errors.ts'
import { IndexFeed } from './index-feed.ts'
import { DocumentLayout } from './layout.ts'
import { PageWriter } from './page-writer.ts'
import { asUrl, classifyDoc, type LedgerPageDoc, type VenueDoc } from './schema.ts'
import { HashSetSink, record, repoPair, until } from './test-helpers.ts'

const dirs: string[] = []
const tmp = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'lakou-docs-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('document layout', () => {
  it('a new device walks the directory and indexes every record of every page exactly once', async () => {
    const { a, b, close } = repoPair()
    const la = new DocumentLayout(a)
    const fed = la.createFederation('f1')
    const venue = la.createVenue(fed, 'v1')
    const writer = await PageWriter.open(la, venue, 'd1', { capacity: 10 })
    for (let i = 0; i < 25; i++) await writer.append(record(i))
    // 25 records at 10 per page: pages 0, 1, 2 listed in the venue directory under the device.
    expect(venue.doc().pages.d1).toHaveLength(3)

    const lb = new DocumentLayout(b, { retryMs: 50 })
    const sink = new HashSetSink()
    const feed = new IndexFeed(lb, sink, undefined, { capacity: 10 })
    feed.start()
    await lb.follow(fed.url)
    await until(() => sink.applied === 25)
    await feed.idle()
    expect(sink.applied).toBe(25)
    expect(lb.classify(venue.documentId)).toEqual({ kind: 'venue', federationId: 'f1', venueId: 'v1' })
    expect(lb.classify(fed.documentId)).toEqual({ kind: 'federation', federationId: 'f1' })
    // Only the device's own venue's personal doc is followed: none here.
    const personalId = String(venue.doc().personal).slice('automerge:'.length)
    expect(lb.classify(personalId as never)).toBeUndefined()
    // Full, indexed pages leave memory on B; the open page stays.
    const pageIds = venue.doc().pages.d1!.map((u) => String(u).slice('automerge:'.length))
    await until(() => !(pageIds[0]! in b.handles) && !(pageIds[1]! in b.handles))
    expect(pageIds[2]! in b.handles).toBe(true)

    // Live: one more record on A arrives in B's index.
    await writer.append(record(25))
    await until(() => sink.applied === 26)
    feed.stop()
    lb.stop()
    await close()
  })

  it('classifies only well-formed Lakou documents', () => {
    expect(
      classifyDoc({ lakou: 'ledger-page/v1', venueId: 'v', deviceId: 'd', page: 2, records: [] }),
    ).toEqual({
      kind: 'ledger-page',
      venueId: 'v',
      deviceId: 'd',
      page: 2,
    })
    expect(classifyDoc({ lakou: 'ledger-page/v1', venueId: 'v', deviceId: 'd', page: -1 })).toBeUndefined()
    expect(classifyDoc({ lakou: 'venue/v1', venueId: 'v' })).toBeUndefined()
    expect(classifyDoc({ hello: 1 })).toBeUndefined()
    expect(classifyDoc(null)).toBeUndefined()
  })

  it('personal docs are followed only for the own venue', async () => {
    const { a, b, close } = repoPair()
    const la = new DocumentLayout(a)
    const fed = la.createFederation('f1')
    const v1 = la.createVenue(fed, 'v1')
    const v2 = la.createVenue(fed, 'v2')
    const lb = new DocumentLayout(b, { retryMs: 50 })
    await lb.follow(fed.url, { ownVenueId: 'v2' })
    const pid = (v: typeof v1) => String(v.doc().personal).slice('automerge:'.length) as never
    await until(() => lb.classify(pid(v2)) !== undefined)
    expect(lb.classify(pid(v2))).toEqual({ kind: 'personal', venueId: 'v2' })
    expect(lb.classify(pid(v1))).toBeUndefined()
    lb.stop()
    await close()
  })
})

describe('page writer durability', () => {
  it('append resolves only once the record is on disk (a second repo on the same dir reads it)', async () => {
    const dir = tmp()
    // Automatic saves pushed far out: only the writer's explicit flush can put the record on disk in time.
    const repo = new Repo({ storage: new DurableFsStorageAdapter(dir), saveDebounceRate: 600_000 })
    const layout = new DocumentLayout(repo)
    const fed = layout.createFederation('f1')
    const venue = layout.createVenue(fed, 'v1')
    await repo.flush()
    const writer = await PageWriter.open(layout, venue, 'd1')
    const loc = await writer.append(record(7))
    const other = new Repo({ storage: new DurableFsStorageAdapter(dir) })
    const page = await other.find<LedgerPageDoc>(loc.pageUrl)
    expect(page.doc().records).toEqual([record(7)])
    await other.shutdown()
    await repo.shutdown()
  })

  it('rolls over to a new page when full and resumes the last page after a restart', async () => {
    const dir = tmp()
    const repo = new Repo({ storage: new DurableFsStorageAdapter(dir) })
    const layout = new DocumentLayout(repo)
    const fed = layout.createFederation('f1')
    const venue = layout.createVenue(fed, 'v1')
    const w = await PageWriter.open(layout, venue, 'd1', { capacity: 3 })
    const locs = []
    for (let i = 0; i < 7; i++) locs.push(await w.append(record(i)))
    expect(locs.map((l) => [l.page, l.index])).toEqual([
      [0, 0],
      [0, 1],
      [0, 2],
      [1, 0],
      [1, 1],
      [1, 2],
      [2, 0],
    ])
    await w.close()
    await repo.shutdown()

    const repo2 = new Repo({ storage: new DurableFsStorageAdapter(dir) })
    const layout2 = new DocumentLayout(repo2)
    const venue2 = await repo2.find<VenueDoc>(venue.url)
    const w2 = await PageWriter.open(layout2, venue2, 'd1', { capacity: 3 })
    expect(w2.lastRecord()).toEqual(record(6))
    expect((await w2.append(record(7))).index).toBe(1)
    await expect(w2.append(new Uint8Array(0))).rejects.toBeInstanceOf(InvalidRecordBytesError)
    await expect(w2.append('x' as never)).rejects.toBeInstanceOf(InvalidRecordBytesError)
    await repo2.shutdown()
  })

  it('batches records into one change per page per interval, located at once, on disk when resolved', async () => {
    const dir = tmp()
    const repo = new Repo({ storage: new DurableFsStorageAdapter(dir) })
    const layout = new DocumentLayout(repo)
    const venue = layout.createVenue(layout.createFederation('f1'), 'v1')
    const w = await PageWriter.open(layout, venue, 'd1', { capacity: 3, flushMs: 200 })
    const changesOf = (pageNo: number) => {
      const h = repo.handles[asUrl(venue.doc().pages.d1![pageNo]!).slice('automerge:'.length) as DocumentId]!
      return { records: h.doc().records.length, changes: getAllChanges(h.doc()).length }
    }
    const created = changesOf(0).changes
    const located: number[][] = []
    const done = Array.from({ length: 7 }, (_, i) =>
      w.append(record(i), (l) => located.push([l.page, l.index])),
    )
    await until(() => located.length === 7)
    // Every place is fixed (the push leaves) before the batch enters the page docs.
    expect(located).toEqual([
      [0, 0],
      [0, 1],
      [0, 2],
      [1, 0],
      [1, 1],
      [1, 2],
      [2, 0],
    ])
    expect(changesOf(0).records).toBe(3) // a full page's batch is committed at the rollover
    expect(changesOf(2).records).toBe(0) // the last one waits for the interval
    await Promise.all(done)
    expect(changesOf(0)).toEqual({ records: 3, changes: created + 1 })
    expect(changesOf(1)).toEqual({ records: 3, changes: created + 1 })
    expect(changesOf(2)).toEqual({ records: 1, changes: created + 1 })
    await w.close()
    await repo.shutdown()
    // On disk once resolved: a second repo on the same directory reads all seven.
    const repo2 = new Repo({ storage: new DurableFsStorageAdapter(dir) })
    const v2 = await repo2.find<VenueDoc>(venue.url)
    let n = 0
    for (const u of v2.doc().pages.d1!) n += (await repo2.find<LedgerPageDoc>(asUrl(u))).doc().records.length
    expect(n).toBe(7)
    await repo2.shutdown()
  })

  it('a full page let go from memory stays whole on disk (no empty save after the unload)', async () => {
    const dir = tmp()
    const repo = new Repo({ storage: new DurableFsStorageAdapter(dir) })
    const layout = new DocumentLayout(repo)
    const venue = layout.createVenue(layout.createFederation('f1'), 'v1')
    const w = await PageWriter.open(layout, venue, 'd1', { capacity: 30 })
    // One flush per record: many incremental chunks, so the next save compacts (snapshot + removals).
    const locs = []
    for (let i = 0; i < 30; i++) locs.push(await w.append(record(i)))
    const id = w.currentPage.documentId
    await layout.unload(id)
    await new Promise((r) => setTimeout(r, 400)) // past the repo's 100 ms save throttle
    await repo.shutdown()
    const other = new Repo({ storage: new DurableFsStorageAdapter(dir) })
    const page = await other.find<LedgerPageDoc>(locs[0]!.pageUrl)
    expect(page.doc().records).toHaveLength(30)
    await other.shutdown()
  })

  it('onLocated runs before the record enters the page doc (the push leaves ahead of the CRDT work)', async () => {
    const repo = new Repo()
    const layout = new DocumentLayout(repo)
    const venue = layout.createVenue(layout.createFederation('f1'), 'v1')
    const w = await PageWriter.open(layout, venue, 'd1', { capacity: 2 })
    const seen: Array<[number, number, number]> = []
    for (let i = 0; i < 3; i++) {
      await w.append(record(i), (loc) => {
        seen.push([loc.page, loc.index, w.currentPage.doc().records.length])
      })
    }
    // [page, index, records already in that page when called]: the third opens page 1.
    expect(seen).toEqual([
      [0, 0, 0],
      [0, 1, 1],
      [1, 0, 0],
    ])
    await repo.shutdown()
  })
})

describe('index feed checkpoint', () => {
  it('a restart from the checkpoint ingests only what is new and skips fully indexed pages', async () => {
    const { a, b, close } = repoPair()
    const la = new DocumentLayout(a)
    const fed = la.createFederation('f1')
    const venue = la.createVenue(fed, 'v1')
    const w = await PageWriter.open(la, venue, 'd1', { capacity: 5 })
    for (let i = 0; i < 12; i++) await w.append(record(i))

    const lb = new DocumentLayout(b, { retryMs: 50 })
    const sink = new HashSetSink()
    const feed = new IndexFeed(lb, sink, undefined, { capacity: 5 })
    feed.start()
    await lb.follow(fed.url)
    await until(() => sink.applied === 12)
    const cp = await feed.checkpoint()
    feed.stop()
    lb.stop()
    expect(
      Object.values(cp.state.pages)
        .map((p) => p.indexed)
        .sort(),
    ).toEqual([2, 5, 5])

    // "Restart" B's index from the checkpoint, with 3 new records on A meanwhile.
    for (let i = 12; i < 15; i++) await w.append(record(i))
    const lb2 = new DocumentLayout(b, { retryMs: 50 })
    const sink2 = HashSetSink.restore(cp.snapshot)
    let fed2Pages = 0
    const feed2 = new IndexFeed(lb2, sink2, cp.state, { capacity: 5 })
    feed2.on('ingested', (e) => {
      if (e.source === 'page') fed2Pages++
    })
    feed2.start()
    const skip = feed2.completePages()
    expect(skip.size).toBe(2)
    await lb2.follow(fed.url, { skipPages: skip })
    await until(() => sink2.applied === 15)
    await feed2.idle()
    // Only the 3 new records were handed over: the two full pages were not even loaded.
    expect(fed2Pages).toBe(3)
    feed2.stop()
    lb2.stop()
    await close()
  })
})
