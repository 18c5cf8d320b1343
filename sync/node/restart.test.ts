// A venue node restarted from its checkpoint: the ledger index (restored from its snapshot, or rebuilt from
// the documents on disk by rebuildLedger) ends with every record valid (none left pending for a
// certificate the rebuild did not feed). Snapshot fallbacks: snapshot-restart.test.ts.
import { readFile } from 'node:fs/promises'
import { type AutomergeUrl, Repo } from '@automerge/automerge-repo'
import { afterEach, describe, expect, it } from 'vitest'
import { DurableFsStorageAdapter } from '../docs/durable-storage.ts'
import { setupFederation } from '../test/cluster.ts'
import { decodeCheckpoint } from './checkpoint-file.ts'
import { dataPaths, readNodeConfig } from './config.ts'
import { fromHex, LedgerIndex } from './ledger.ts'
import { rebuildLedger } from './ledger-rebuild.ts'
import { createVenueNode, type VenueNode } from './venue-node.ts'

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const topUp = (n: number) => {
  const card = new Uint8Array(8)
  card[0] = 2
  card[7] = n
  return {
    kind: 'top-up',
    chain: { card, cardSeq: 1, cardPrev: new Uint8Array(32) },
    asset: 'EUR',
    amount: 100 + n,
    method: 'cash',
  } as never
}

async function start(dataDir: string): Promise<VenueNode> {
  const node = await createVenueNode({
    dataDir,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: false,
    pageCapacity: 4,
    log: () => {},
  })
  cleanups.push(() => node.stop())
  return node
}

describe('venue node restart', () => {
  it('restores the ledger index with every record valid, none pending', async () => {
    const fed = await setupFederation(1, 1)
    cleanups.push(() => fed.cleanup())
    const dataDir = fed.devices[0]!
    const first = await start(dataDir)
    // 10 records over 3 pages of 4: two full pages that a restart does not load.
    for (let i = 0; i < 10; i++) await first.appendRecord(topUp(i))
    await first.idle()
    expect(first.ledger.counts()).toMatchObject({ valid: 10, pending: 0 })
    await first.stop()

    const again = await start(dataDir)
    const rebuilt = await again.ledgerReady
    expect(rebuilt.records).toBe(10)
    expect(again.ledger.pending()).toEqual([])
    expect(again.ledger.counts()).toMatchObject({ valid: 10, pending: 0 })
    // The chain continues after a restart, and the new record is valid too.
    const r = await again.appendRecord(topUp(11))
    expect(r.deviceSeq).toBe(11)
    await again.idle()
    expect(again.ledger.counts()).toMatchObject({ valid: 11, pending: 0 })
  }, 60_000)

  it('rebuildLedger feeds the directory docs even when none is loaded yet (fresh repo on the same disk)', async () => {
    const fed = await setupFederation(1, 1)
    cleanups.push(() => fed.cleanup())
    const dataDir = fed.devices[0]!
    const node = await start(dataDir)
    for (let i = 0; i < 6; i++) await node.appendRecord(topUp(i))
    await node.stop()

    const config = await readNodeConfig(dataDir)
    const paths = dataPaths(dataDir)
    const { state } = decodeCheckpoint(await readFile(paths.checkpoint))
    const storage = new DurableFsStorageAdapter(paths.automerge)
    const repo = new Repo({ storage })
    cleanups.push(() => repo.shutdown())
    // Nothing loaded: the federation and venue docs are only on disk.
    expect(Object.keys(repo.handles)).toEqual([])
    const ledger = new LedgerIndex({ federation: fromHex(config.federationKey) })
    const r = await rebuildLedger(repo, ledger, state, {
      federationUrl: config.federationUrl as AutomergeUrl,
      storage,
    })
    expect(r.records).toBe(6)
    expect(r.statements).toBeGreaterThan(0)
    expect(ledger.pending()).toEqual([])
    expect(ledger.counts()).toMatchObject({ valid: 6, pending: 0 })
  }, 60_000)
})
