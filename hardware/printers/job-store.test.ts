import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CorruptJobFileError } from './errors.ts'
import { job, runPrintJobStoreConformance } from './job-store.conformance.ts'
import { FsPrintJobStore, MemoryPrintJobStore } from './job-store.ts'

runPrintJobStoreConformance('MemoryPrintJobStore', async () => {
  const store = new MemoryPrintJobStore()
  return { store, reopen: async () => store, teardown: async () => {} }
})

runPrintJobStoreConformance('FsPrintJobStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lakou-print-jobs-'))
  return {
    store: await FsPrintJobStore.open(dir),
    reopen: () => FsPrintJobStore.open(dir),
    teardown: () => rm(dir, { recursive: true, force: true }),
  }
})

describe('FsPrintJobStore on disk', () => {
  it('reports a corrupt file, leaves it in place and still lists the other jobs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lakou-print-jobs-'))
    try {
      const store = await FsPrintJobStore.open(dir)
      await store.put(job('good', 1))
      await writeFile(join(dir, `${'0'.repeat(64)}.json`), '{"v":1,"id":"torn","byt')
      const reported: CorruptJobFileError[] = []
      const reopened = await FsPrintJobStore.open(dir, { onCorrupt: (error) => reported.push(error) })
      expect((await reopened.list()).map((j) => j.id)).toEqual(['good'])
      expect(reported).toHaveLength(1)
      expect(reported[0]).toBeInstanceOf(CorruptJobFileError)
      expect(reported[0]?.name).toBe('CorruptJobFileError')
      expect(await readdir(dir)).toContain(`${'0'.repeat(64)}.json`)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('removes temp files a crash left behind, and never lists them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lakou-print-jobs-'))
    try {
      const store = await FsPrintJobStore.open(dir)
      await store.put(job('a', 1))
      await writeFile(join(dir, 'abc.json.123456.tmp'), '{"half":')
      expect((await store.list()).map((j) => j.id)).toEqual(['a'])
      await FsPrintJobStore.open(dir)
      expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
