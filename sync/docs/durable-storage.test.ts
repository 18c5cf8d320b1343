import { promises as fsp, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { runStorageAdapterTests } from '@automerge/automerge-repo/helpers/tests/storage-adapter-tests.js'
import { describe, expect, it, vi } from 'vitest'
import { DurableFsStorageAdapter } from './durable-storage.ts'

runStorageAdapterTests(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lakou-storage-'))
  return {
    adapter: new DurableFsStorageAdapter(dir),
    teardown: () => rmSync(dir, { recursive: true, force: true }),
  }
}, 'DurableFsStorageAdapter')

describe('DurableFsStorageAdapter on disk', () => {
  it('leaves no temporary file after a save and ignores ones a crash left behind', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lakou-storage-'))
    const a = new DurableFsStorageAdapter(dir)
    await a.save(['abcdef', 'incremental', 'h1'], new Uint8Array([1, 2, 3]))
    const leaf = path.join(dir, 'ab', 'cdef', 'incremental')
    expect(readdirSync(leaf)).toEqual(['h1'])
    // A crash between write and rename leaves "<name>.<rand>.tmp": it must not be loaded as a chunk.
    mkdirSync(leaf, { recursive: true })
    writeFileSync(path.join(leaf, 'h2.deadbeef.tmp'), new Uint8Array([9]))
    const chunks = await a.loadRange(['abcdef'])
    expect(chunks.map((c) => c.key)).toEqual([['abcdef', 'incremental', 'h1']])
    // A second adapter on the same dir (a restart) reads what the first saved.
    expect(await new DurableFsStorageAdapter(dir).load(['abcdef', 'incremental', 'h1'])).toEqual(
      new Uint8Array([1, 2, 3]),
    )
    rmSync(dir, { recursive: true, force: true })
  })
  it('makes a directory once, and again after a removal by itself or by another adapter', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lakou-storage-'))
    const a = new DurableFsStorageAdapter(dir)
    const mkdir = vi.spyOn(fsp, 'mkdir')
    try {
      await a.save(['abcdef', 'sync-state', 'p1'], new Uint8Array([1]))
      await a.save(['abcdef', 'sync-state', 'p2'], new Uint8Array([2]))
      expect(mkdir).toHaveBeenCalledTimes(1)
      await a.removeRange(['abcdef'])
      await a.save(['abcdef', 'sync-state', 'p1'], new Uint8Array([3]))
      expect(await a.load(['abcdef', 'sync-state', 'p1'])).toEqual(new Uint8Array([3]))
      await new DurableFsStorageAdapter(dir).removeRange(['abcdef'])
      await a.save(['abcdef', 'sync-state', 'p2'], new Uint8Array([4]))
      expect(await a.load(['abcdef', 'sync-state', 'p2'])).toEqual(new Uint8Array([4]))
    } finally {
      mkdir.mockRestore()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
