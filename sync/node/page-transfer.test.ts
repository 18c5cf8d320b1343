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
import { createFixture, DeviceChainWriter, toHex, ZERO_HASH } from './ledger.ts'
import { PageReader } from './page-reader.ts'
import {
  checkPageChain,
  PAGE_TRANSFER_PROTOCOL,
  PageTransfer,
  readWholePage,
  snapshotKey,
  WholePageRefusedError,
} from './page-transfer.ts'
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

// Pages 0..4 of a till's device chain (CAPACITY records each), signed once for the whole file.
const fx = await createFixture('page-transfer')
const till = new DeviceChainWriter(fx.venues[0]!.cashier.key, { clock: () => 1_000 })
const chain: Uint8Array[] = []
for (let i = 0; i < 5 * CAPACITY; i++)
  chain.push(
    (
      await till.append({
        kind: 'top-up',
        chain: { card: fx.tagCards[0]!, cardSeq: i + 1, cardPrev: ZERO_HASH },
        asset: 'EUR',
        amount: 100 + i,
        method: 'cash',
      })
    ).bytes,
  )
const DEVICE = toHex(fx.venues[0]!.cashier.key.publicKey)
const pageRecords = (page: number) => chain.slice(page * CAPACITY, (page + 1) * CAPACITY)
const recordBytes = (i: number) => pageRecords(3)[i]!

/** A page doc created and saved by automerge-repo: its id and its stored chunks, as a peer would send them. */
async function storedPage(
  o: { deviceId?: string; page?: number; records?: number; content?: Uint8Array[] } = {},
) {
  const storage = new DurableFsStorageAdapter(tempDir())
  const repo = new Repo({ storage })
  const h = repo.create<LedgerPageDoc>({
    lakou: 'ledger-page/v1',
    venueId: imm('venue-1'),
    deviceId: imm(o.deviceId ?? DEVICE),
    page: o.page ?? 3,
    records: [],
  })
  const content = o.content ?? pageRecords(o.page ?? 3)
  h.change((d) => {
    for (let i = 0; i < (o.records ?? CAPACITY); i++) d.records.push(content[i]!)
  })
  await repo.flush()
  const bytes = await loadStoredDoc(storage, h.documentId)
  await repo.storageId() // written in the background: done before the dir is removed
  await repo.shutdown()
  return { id: h.documentId, bytes: bytes!, storage }
}

const want = (id: DocumentId) => ({ documentId: id, venueId: 'venue-1', deviceId: DEVICE, page: 3 })

describe('readWholePage', () => {
  it('gives the records of the full page asked for, in order', async () => {
    const { id, bytes } = await storedPage()
    const page = readWholePage(bytes, want(id), CAPACITY)
    expect(page?.records).toEqual(Array.from({ length: CAPACITY }, (_, i) => recordBytes(i)))
    expect(page?.heads).toHaveLength(1)
  })

  it('refuses a page of another device or number, a page not full, and bytes that do not load', async () => {
    const other = await storedPage({ deviceId: 'ab'.repeat(32) })
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

// Signed bytes with one signature byte flipped (the same content hash: only the signature is wrong).
const badSignature = (bytes: Uint8Array) => {
  const copy = new Uint8Array(bytes)
  copy[copy.length - 1]! ^= 1
  return copy
}

describe('PageReader (a worker thread)', () => {
  it('reads what readWholePage reads, and refuses what it refuses', async () => {
    const reader = new PageReader({ worker: true })
    try {
      const { id, bytes } = await storedPage()
      expect(await reader.read(bytes, want(id), CAPACITY)).toEqual(readWholePage(bytes, want(id), CAPACITY))
      const other = await storedPage({ deviceId: 'ab'.repeat(32) })
      expect(await reader.read(other.bytes, want(other.id), CAPACITY)).toBeUndefined()
      const later = await storedPage({ page: 4 })
      expect(await reader.read(later.bytes, want(later.id), CAPACITY)).toBeUndefined()
      const partial = await storedPage({ records: CAPACITY - 1 })
      expect(await reader.read(partial.bytes, want(partial.id), CAPACITY)).toBeUndefined()
      expect(await reader.read(new Uint8Array([1, 2, 3]), want(id), CAPACITY)).toBeUndefined()
      // several at once, in order
      const pages = await Promise.all([0, 1, 2].map(() => reader.read(bytes, want(id), CAPACITY)))
      for (const p of pages) expect(p?.records).toEqual(pageRecords(3))
      expect(reader.stats).toEqual({ inWorker: 8, inThread: 0 })
    } finally {
      await reader.stop()
    }
  })
})

describe('checkPageChain', () => {
  const refused = (records: Uint8Array[], page = 3) =>
    expect(checkPageChain(records, { deviceId: DEVICE, page }, CAPACITY)).rejects.toThrow(
      WholePageRefusedError,
    )

  it('accepts the page of the device chain it is named as', async () => {
    for (const page of [0, 3, 4])
      await expect(
        checkPageChain(pageRecords(page), { deviceId: DEVICE, page }, CAPACITY),
      ).resolves.toBeUndefined()
  })

  it('refuses another page, records missing, doubled or out of order, and another device', async () => {
    await refused(pageRecords(4))
    await refused(pageRecords(3), 2)
    await refused(pageRecords(3).slice(1))
    const doubled = pageRecords(3)
    doubled[5] = doubled[4]!
    await refused(doubled)
    const swapped = pageRecords(3)
    ;[swapped[7], swapped[8]] = [swapped[8]!, swapped[7]!]
    await refused(swapped)
    await expect(
      checkPageChain(pageRecords(3), { deviceId: 'ab'.repeat(32), page: 3 }, CAPACITY),
    ).rejects.toThrow(WholePageRefusedError)
    await refused([...pageRecords(3).slice(0, -1), new Uint8Array([1, 2, 3])])
  })

  it('refuses a page whose chain is not signed by the device (one verification covers every record)', async () => {
    const forged = pageRecords(3)
    forged[CAPACITY - 1] = badSignature(forged[CAPACITY - 1]!)
    await refused(forged)
    // A record changed in the middle: its own signature fails in the ledger, and here the next record no
    // longer names its hash.
    const changed = pageRecords(3)
    changed[10] = pageRecords(1)[10]!
    await refused(changed)
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
      // Loaded on the node's main thread (the worker thread is opt-in).
      expect(asking.pagesRead).toEqual({ inWorker: 0, inThread: 1 })
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

describe('PageTransfer refuses a forged page', () => {
  it('a page that is not the one the directory names is not stored; it is asked of another peer', async () => {
    const genuine = await storedPage()
    // The forger holds a page doc of the same id whose last record's signature is wrong.
    const content = pageRecords(3)
    content[CAPACITY - 1] = badSignature(content[CAPACITY - 1]!)
    const forgedDoc = await storedPage({ content })
    const forgerStorage = new DurableFsStorageAdapter(tempDir())
    await forgerStorage.save([genuine.id, 'snapshot', 'forged'], forgedDoc.bytes)

    const [asker, forger, honest] = await startTestPeers(3)
    let honestHasIt = false
    const serve = (peer: typeof asker, storage: DurableFsStorageAdapter, complete: () => boolean) =>
      new PageTransfer({
        host: peer!.host,
        access: peer!.access,
        storage,
        mayHold: async () => true,
        isCompletePage: (id) => id === genuine.id && complete(),
        capacity: CAPACITY,
      })
    const forging = serve(forger, forgerStorage, () => true)
    const serving = serve(honest, genuine.storage, () => honestHasIt)
    const storage = new DurableFsStorageAdapter(tempDir())
    const lines: string[] = []
    const asking = new PageTransfer({
      host: asker!.host,
      access: asker!.access,
      storage,
      mayHold: async () => true,
      isCompletePage: () => false,
      capacity: CAPACITY,
      // this one loads pages in the worker thread (opt-in): the same checks either way
      pageWorker: true,
      log: (l) => lines.push(l),
    })
    await Promise.all([forging.start(), serving.start(), asking.start()])
    try {
      // Only the forger sends it: refused (typed, logged), not stored, and the honest peer was asked too.
      expect(await asking.fetch(want(genuine.id))).toBeUndefined()
      expect(asking.stats).toMatchObject({ fetched: 0, badPages: 1 })
      expect(forging.stats.served).toBe(1)
      expect(serving.stats.refused).toBe(1)
      expect(lines.some((l) => l.includes('refused') && l.includes('signed'))).toBe(true)
      expect(await storage.loadRange([genuine.id, 'snapshot'])).toEqual([])

      // The honest peer has it now: asked before the forger (who sent a bad page), it gives the genuine page.
      honestHasIt = true
      expect(await asking.fetch(want(genuine.id))).toEqual(pageRecords(3))
      expect(asking.stats).toMatchObject({ fetched: 1, badPages: 1 })
      expect(forging.stats.served).toBe(1)
      expect((await storage.loadRange([genuine.id, 'snapshot'])).map((c) => c.data)).toEqual([genuine.bytes])
      expect(asking.pagesRead).toEqual({ inWorker: 2, inThread: 0 })
    } finally {
      await Promise.all([forging.stop(), serving.stop(), asking.stop()])
      await Promise.all([asker!.stop(), forger!.stop(), honest!.stop()])
    }
  }, 30_000)
})

const sleep = (ms: number) => new Promise((r) => setTimeout(() => r('timeout'), ms))
