// A full page sent whole: only the full page the directory names is kept, and the bytes stored under the
// snapshot key make it a page automerge-repo loads (and so serves) like any other. Over real libp2p (two
// authenticated in-process hosts): a page is served only if complete there and the asker may hold it, and a
// silent request stream is closed.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { type DocumentId, Repo } from '@automerge/automerge-repo'
import { afterEach, describe, expect, it } from 'vitest'
import { DurableFsStorageAdapter } from '../docs/durable-storage.ts'
import { imm, type LedgerPageDoc } from '../docs/schema.ts'
import { preferredConnection } from '../net/mod.ts'
import { startTestPeers } from '../net/testing.ts'
import { PAGE_TRANSFER_PROTOCOL, PageTransfer, readWholePage, snapshotKey } from './page-transfer.ts'
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

describe('PageTransfer over libp2p', () => {
  it('sends a complete page whole, stored by the asker; refuses pages not complete or not to be held', async () => {
    const page = await storedPage()
    const [a, b] = await startTestPeers(2)
    const denied = new Set<string>()
    const serving = new PageTransfer({
      host: a!.host,
      access: a!.access,
      storage: page.storage,
      mayHold: async (peer) => !denied.has(peer),
      isCompletePage: (id) => id === page.id,
      capacity: CAPACITY,
      timeoutMs: 300,
    })
    const storage = new DurableFsStorageAdapter(tempDir())
    const asking = new PageTransfer({
      host: b!.host,
      access: b!.access,
      storage,
      mayHold: async () => true,
      isCompletePage: () => false,
      capacity: CAPACITY,
    })
    await serving.start()
    await asking.start()
    try {
      // Not complete on the serving side (another page id): nothing sent.
      const other = await storedPage({ page: 4 })
      expect(await asking.fetch({ ...want(other.id), page: 4 })).toBeUndefined()
      // The asker may not hold it: nothing sent.
      denied.add(b!.host.peerId.toString())
      expect(await asking.fetch(want(page.id))).toBeUndefined()
      denied.clear()
      expect(serving.stats).toMatchObject({ served: 0, refused: 2 })

      const records = await asking.fetch(want(page.id))
      expect(records).toEqual(Array.from({ length: CAPACITY }, (_, i) => recordBytes(i)))
      expect(serving.stats.served).toBe(1)
      // Stored by the asker: asked again, it is read from its own disk, not from the peer.
      expect((await storage.loadRange([page.id, 'snapshot'])).map((c) => c.data)).toEqual([page.bytes])
      expect(await asking.fetch(want(page.id))).toBeUndefined()
      expect(serving.stats.served).toBe(1)

      // A stream that never says what it wants is closed by the serving side.
      const connection = preferredConnection(b!.host, a!.host.peerId.toString())!
      const stream = await connection.newStream(PAGE_TRANSFER_PROTOCOL)
      const closed = new Promise((r) => stream.addEventListener('close', r))
      await expect(Promise.race([closed.then(() => 'closed'), sleep(5000)])).resolves.toBe('closed')
    } finally {
      await serving.stop()
      await asking.stop()
      await Promise.all([a!.stop(), b!.stop()])
    }
  }, 30_000)
})

const sleep = (ms: number) => new Promise((r) => setTimeout(() => r('timeout'), ms))
