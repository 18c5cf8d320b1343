// A filesystem StorageAdapter for automerge-repo whose save() returns only once the bytes are on disk.
// Why not @automerge/automerge-repo-storage-nodefs as is: its save() is a plain writeFile (no fsync, not
// atomic), so a crash or power cut mid-write can leave a truncated chunk that breaks the document load.
// Here every save writes a temporary file, fsyncs it, renames it over the target and fsyncs the directory.
// Key layout is the same as NodeFS (first key split as 2 chars / rest), so existing data dirs stay readable.
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { Chunk, StorageAdapterInterface, StorageKey } from '@automerge/automerge-repo/slim'

export class DurableFsStorageAdapter implements StorageAdapterInterface {
  readonly #dir: string
  // Save order seen by this adapter: loadRange lists chunks in it, like NodeFS does through its cache
  // (automerge-repo does not depend on the order; its conformance suite checks it).
  readonly #saveOrder = new Map<string, number>()
  #saves = 0
  // Directories made (or found) by an earlier save: a recursive mkdir per save was a thread-pool round trip
  // for every page and sync-state save (most of a festival till's storage syscalls). Forgotten on removal.
  readonly #dirs = new Set<string>()

  constructor(baseDirectory: string) {
    this.#dir = baseDirectory
  }

  #filePath(key: StorageKey): string {
    const [first = '', ...rest] = key
    return path.join(this.#dir, first.slice(0, 2), first.slice(2), ...rest)
  }

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await fs.readFile(this.#filePath(key)))
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw e
    }
  }

  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    const target = this.#filePath(key)
    const dir = path.dirname(target)
    if (!this.#dirs.has(dir)) {
      await fs.mkdir(dir, { recursive: true })
      this.#dirs.add(dir)
    }
    const tmp = `${target}.${randomBytes(6).toString('hex')}.tmp`
    // Sync states (key [doc, 'sync-state', peer]) only spare a re-sync: atomic but not fsync'ed, so they
    // do not hold up the thread pool that signature checks (WebCrypto) also run on.
    const durable = key[1] !== 'sync-state'
    const fh = await fs.open(tmp, 'w').catch(async (e: NodeJS.ErrnoException) => {
      // removed behind this adapter's back (another adapter on the same directory): make it again
      if (e.code !== 'ENOENT') throw e
      await fs.mkdir(dir, { recursive: true })
      return fs.open(tmp, 'w')
    })
    try {
      await fh.writeFile(data)
      if (durable) await fh.sync()
    } finally {
      await fh.close()
    }
    await fs.rename(tmp, target)
    if (durable) await syncDir(dir)
    this.#saveOrder.set(target, this.#saves++)
  }

  async remove(key: StorageKey): Promise<void> {
    this.#saveOrder.delete(this.#filePath(key))
    try {
      await fs.unlink(this.#filePath(key))
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
    }
  }

  async loadRange(prefix: StorageKey): Promise<Chunk[]> {
    const files = (await walk(this.#filePath(prefix))).sort(
      (a, b) =>
        (this.#saveOrder.get(a) ?? -1) - (this.#saveOrder.get(b) ?? -1) || (a < b ? -1 : a > b ? 1 : 0),
    )
    return Promise.all(
      files.map(async (file) => ({ key: this.#keyOf(file), data: new Uint8Array(await fs.readFile(file)) })),
    )
  }

  async removeRange(prefix: StorageKey): Promise<void> {
    this.#dirs.clear()
    await fs.rm(this.#filePath(prefix), { recursive: true, force: true })
  }

  // Inverse of #filePath: "ab/cdef/x/y" -> ["abcdef", "x", "y"].
  #keyOf(file: string): StorageKey {
    const [a = '', b = '', ...rest] = path.relative(this.#dir, file).split(path.sep)
    return [a + b, ...rest]
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

// Every file under dir, skipping temporaries a crash may have left behind.
async function walk(dir: string): Promise<string[]> {
  let entries: import('node:fs').Dirent[]
  try {
    entries = await fs.readdir(dir, { withFileTypes: true })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw e
  }
  const nested = await Promise.all(
    entries.map((e) => {
      const p = path.join(dir, e.name)
      if (e.isDirectory()) return walk(p)
      return Promise.resolve(e.name.endsWith('.tmp') ? [] : [p])
    }),
  )
  return nested.flat()
}
