// A full page sent whole: only the full page the directory names is kept, and the bytes stored under the
// snapshot key make it a page automerge-repo loads (and so serves) like any other.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { type DocumentId, Repo } from '@automerge/automerge-repo'
import { afterEach, describe, expect, it } from 'vitest'
import { DurableFsStorageAdapter } from '../docs/durable-storage.ts'
import { imm, type LedgerPageDoc } from '../docs/schema.ts'
import { readWholePage, snapshotKey } from './page-transfer.ts'
import { loadStoredDoc } from './stored-page.ts'

const CAPACITY = 20
const dirs: string[] = []
const tempDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'lakou-page-transfer-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

// Deterministic record-like bytes (what a record is does not matter here: the ledger checks records).
const recordBytes = (n: number) => Uint8Array.from({ length: 40 }, (_, i) => (n * 31 + i * 7) & 0xff)

/** A page doc created and saved by automerge-repo: its id and its stored chunks, as a peer would send them. */
async function storedPage(o: { deviceId?: string; page?: number; records?: number } = {}) {
  const storage = new DurableFsStorageAdapter(tempDir())
  const repo = new Repo({ storage })
  const h = repo.create<LedgerPageDoc>({
    lakou: 'ledger-page/v1',
    venueId: imm('venue-1'),
    deviceId: imm(o.deviceId ?? 'device-a'),
    page: o.page ?? 3,
    records: [],
  })
  h.change((d) => {
    for (let i = 0; i < (o.records ?? CAPACITY); i++) d.records.push(recordBytes(i))
  })
  await repo.flush()
  const bytes = await loadStoredDoc(storage, h.documentId)
  await repo.storageId() // written in the background: done before the dir is removed
  await repo.shutdown()
  return { id: h.documentId, bytes: bytes!, storage }
}

const want = (id: DocumentId) => ({ documentId: id, venueId: 'venue-1', deviceId: 'device-a', page: 3 })

describe('readWholePage', () => {
  it('gives the records of the full page asked for, in order', async () => {
    const { id, bytes } = await storedPage()
    const page = readWholePage(bytes, want(id), CAPACITY)
    expect(page?.records).toEqual(Array.from({ length: CAPACITY }, (_, i) => recordBytes(i)))
    expect(page?.heads).toHaveLength(1)
  })

  it('refuses a page of another device or number, a page not full, and bytes that do not load', async () => {
    const other = await storedPage({ deviceId: 'device-b' })
    expect(readWholePage(other.bytes, want(other.id), CAPACITY)).toBeUndefined()
    const later = await storedPage({ page: 4 })
    expect(readWholePage(later.bytes, want(later.id), CAPACITY)).toBeUndefined()
    const partial = await storedPage({ records: CAPACITY - 1 })
    expect(readWholePage(partial.bytes, want(partial.id), CAPACITY)).toBeUndefined()
    const { id, bytes } = await storedPage()
    expect(readWholePage(bytes.subarray(0, bytes.length - 10), want(id), CAPACITY)).toBeUndefined()
    expect(readWholePage(new Uint8Array([1, 2, 3]), want(id), CAPACITY)).toBeUndefined()
  })

  it('stored under its snapshot key, the page loads in a repo that never synced it', async () => {
    const { id, bytes, storage: sent } = await storedPage()
    const page = readWholePage(bytes, want(id), CAPACITY)!
    // automerge-repo named the sender's snapshot the same way.
    const [chunk] = await sent.loadRange([id, 'snapshot'])
    expect(chunk?.key).toEqual(snapshotKey(id, page.heads))

    const storage = new DurableFsStorageAdapter(tempDir())
    await storage.save(snapshotKey(id, page.heads), bytes)
    const repo = new Repo({ storage })
    const h = await repo.find<LedgerPageDoc>(id)
    expect(h.doc().records.map((r) => new Uint8Array(r))).toEqual(page.records)
    await repo.storageId()
    await repo.shutdown()
  })
})
