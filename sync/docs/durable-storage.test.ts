import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { runStorageAdapterTests } from '@automerge/automerge-repo/helpers/tests/storage-adapter-tests.js'
import { describe, expect, it } from 'vitest'
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
})
