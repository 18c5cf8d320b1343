// A venue node restarted from the ledger's local snapshot: the same views as before the stop, ready
// without checking any signature again; a damaged or stale snapshot falls back to the rebuild (same views),
// and records newer than the snapshot come back from their pages.
import { copyFile, readFile, writeFile } from 'node:fs/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { setupFederation } from '../test/cluster.ts'
import { decodeCheckpoint, encodeCheckpoint, sha256Hex } from './checkpoint-file.ts'
import { dataPaths } from './config.ts'
import { verificationCount } from './ledger.ts'
import { createVenueNode, type VenueNode } from './venue-node.ts'

const RECORDS = 2000
const PAGE = 50

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const topUp = (n: number) => {
  const card = new Uint8Array(8)
  card[0] = 2
  card[6] = n >> 8
  card[7] = n & 0xff
  return {
    kind: 'top-up',
    chain: { card, cardSeq: 1, cardPrev: new Uint8Array(32) },
    asset: 'EUR',
    amount: 100 + n,
    method: 'cash',
  } as never
}

async function start(dataDir: string, log: string[] = []): Promise<VenueNode> {
  const node = await createVenueNode({
    dataDir,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: false,
    pageCapacity: PAGE,
    log: (line) => log.push(line),
  })
  cleanups.push(() => node.stop())
  return node
}

/** A data dir whose node wrote `count` records and stopped; with the ledger's views at the stop. */
async function stoppedNode(count: number): Promise<{ dataDir: string; views: string }> {
  const fed = await setupFederation(1, 1)
  cleanups.push(() => fed.cleanup())
  const dataDir = fed.devices[0]!
  const node = await start(dataDir)
  for (let i = 0; i < count; i++) await node.appendRecord(topUp(i))
  await node.idle()
  expect(node.ledger.counts()).toMatchObject({ valid: count, pending: 0 })
  const views = JSON.stringify(node.ledger.snapshot())
  await node.stop()
  return { dataDir, views }
}

/** Signatures verified (by the ledger's verifySignature, whatever its path) since this call. */
function countVerifications(): { count: () => number; reset: () => void } {
  let from = verificationCount()
  return { count: () => verificationCount() - from, reset: () => (from = verificationCount()) }
}

describe('venue node restart from the ledger snapshot', () => {
  it('restores the same views without verifying a signature again, and continues the chain', async () => {
    const { dataDir, views } = await stoppedNode(RECORDS)
    const verify = countVerifications()
    const log: string[] = []
    const again = await start(dataDir, log)
    const ready = await again.ledgerReady
    expect(ready).toMatchObject({ source: 'snapshot', records: RECORDS })
    expect(verify.count()).toBe(0)
    expect(JSON.stringify(again.ledger.snapshot())).toBe(views)
    expect(log.filter((l) => l.includes('ledger snapshot'))).toEqual([])
    console.info(
      `restart of ${RECORDS} records from the snapshot: ledgerReady after ${ready.ms.toFixed(0)} ms`,
    )

    const r = await again.appendRecord(topUp(RECORDS + 1))
    expect(r.deviceSeq).toBe(RECORDS + 1)
    await again.idle()
    expect(again.ledger.counts()).toMatchObject({ valid: RECORDS + 1, pending: 0 })
    await again.stop()

    // The same data dir without its snapshot: the rebuild, for comparison.
    await writeFile(dataPaths(dataDir).ledgerSnapshot, '')
    verify.reset()
    const rebuilt = await start(dataDir)
    const slow = await rebuilt.ledgerReady
    expect(slow).toMatchObject({ source: 'rebuild', records: RECORDS + 1 })
    expect(verify.count()).toBeGreaterThanOrEqual(RECORDS + 1)
    console.info(`the same restart rebuilt from the documents: ledgerReady after ${slow.ms.toFixed(0)} ms`)
  }, 120_000)

  it('a damaged snapshot is logged and the index rebuilt from the documents, with the same views', async () => {
    const { dataDir, views } = await stoppedNode(40)
    const file = dataPaths(dataDir).ledgerSnapshot
    const bytes = await readFile(file)
    bytes[bytes.length >> 1]! ^= 1
    await writeFile(file, bytes)
    // The checkpoint names the snapshot by hash; a damaged file under the right name must still be caught
    // by the ledger's own check, so the checkpoint is made to name the damaged bytes.
    const cpFile = dataPaths(dataDir).checkpoint
    const cp = decodeCheckpoint(await readFile(cpFile))
    // named the format 1 way (SHA-256 of the whole file), so only the ledger's own check can catch it
    const named = { state: cp.state, sink: cp.sink, ledger: sha256Hex(bytes) }
    await writeFile(cpFile, Buffer.concat(encodeCheckpoint(named)))

    const verify = countVerifications()
    const log: string[] = []
    const again = await start(dataDir, log)
    const ready = await again.ledgerReady
    expect(ready).toMatchObject({ source: 'rebuild', records: 40 })
    expect(verify.count()).toBeGreaterThanOrEqual(40)
    expect(log.some((l) => l.includes('ledger snapshot not used (corrupt'))).toBe(true)
    expect(JSON.stringify(again.ledger.snapshot())).toBe(views)
  }, 120_000)

  it('a missing snapshot falls back to the rebuild', async () => {
    const { dataDir, views } = await stoppedNode(12)
    await writeFile(dataPaths(dataDir).ledgerSnapshot, '')
    const log: string[] = []
    const again = await start(dataDir, log)
    expect(await again.ledgerReady).toMatchObject({ source: 'rebuild', records: 12 })
    expect(log.some((l) => l.includes('ledger snapshot not used'))).toBe(true)
    expect(JSON.stringify(again.ledger.snapshot())).toBe(views)
  }, 120_000)

  it('records written after the last checkpoint (a crash) come back from their pages', async () => {
    const fed = await setupFederation(1, 1)
    cleanups.push(() => fed.cleanup())
    const dataDir = fed.devices[0]!
    const paths = dataPaths(dataDir)
    const node = await start(dataDir)
    for (let i = 0; i < 30; i++) await node.appendRecord(topUp(i))
    await node.idle()
    await node.checkpoint()
    // Keep that checkpoint and its snapshot: the state a crash right after it would leave.
    await copyFile(paths.checkpoint, `${paths.checkpoint}.kept`)
    await copyFile(paths.ledgerSnapshot, `${paths.ledgerSnapshot}.kept`)
    for (let i = 30; i < 75; i++) await node.appendRecord(topUp(i))
    await node.idle()
    const views = JSON.stringify(node.ledger.snapshot())
    await node.stop()
    await copyFile(`${paths.checkpoint}.kept`, paths.checkpoint)
    await copyFile(`${paths.ledgerSnapshot}.kept`, paths.ledgerSnapshot)

    const verify = countVerifications()
    const again = await start(dataDir)
    expect(await again.ledgerReady).toMatchObject({ source: 'snapshot' })
    await again.idle()
    expect(again.ledger.counts()).toMatchObject({ valid: 75, pending: 0 })
    expect(JSON.stringify(again.ledger.snapshot())).toBe(views)
    // Only the 45 newer records were checked (each at most twice: by the ledger and by the sync sink).
    expect(verify.count()).toBeGreaterThanOrEqual(45)
    expect(verify.count()).toBeLessThanOrEqual(90)
  }, 120_000)
})
