// An unloaded page's automerge doc is freed (its WASM memory back to automerge's allocator) after the
// layout's delay, not left to V8's finalizers; the page stays whole on disk and loads again.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { getHeads } from '@automerge/automerge'
import { Repo } from '@automerge/automerge-repo'
import { afterEach, describe, expect, it } from 'vitest'
import { DurableFsStorageAdapter } from './durable-storage.ts'
import { DocumentLayout } from './layout.ts'
import { PageWriter } from './page-writer.ts'
import type { LedgerPageDoc } from './schema.ts'
import { record, until } from './test-helpers.ts'

const dirs: string[] = []
const tmp = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'lakou-free-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const isFreed = (doc: unknown) => {
  try {
    getHeads(doc as LedgerPageDoc)
    return false
  } catch {
    return true
  }
}

describe('document layout: unloaded docs are freed', () => {
  it('frees the unloaded page doc after the delay; the page loads again whole from disk', async () => {
    const dir = tmp()
    const repo = new Repo({ storage: new DurableFsStorageAdapter(dir) })
    const layout = new DocumentLayout(repo, { freeDelayMs: 300 }) // above the repo's 100 ms save throttle
    const venue = layout.createVenue(layout.createFederation('f1'), 'v1')
    const w = await PageWriter.open(layout, venue, 'd1', { capacity: 10 })
    const locs = []
    for (let i = 0; i < 10; i++) locs.push(await w.append(record(i)))
    const handle = (await repo.find<LedgerPageDoc>(locs[0]!.pageUrl))!
    const before = handle.doc()
    await layout.unload(handle.documentId)
    await until(() => isFreed(before))
    // loaded again (a peer asked for it) and let go again (the sweep)
    const again = await repo.find<LedgerPageDoc>(locs[0]!.pageUrl)
    const second = again.doc()
    expect(second.records).toHaveLength(10)
    await layout.unload(again.documentId)
    await until(() => isFreed(second))
    await repo.shutdown()
    const other = new Repo({ storage: new DurableFsStorageAdapter(dir) })
    const page = await other.find<LedgerPageDoc>(locs[0]!.pageUrl)
    expect(page.doc().records).toHaveLength(10)
    await other.shutdown()
  })
})
