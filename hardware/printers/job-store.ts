// Where queued print jobs live until a printer acknowledges them. One small interface, two adapters,
// one conformance suite (job-store.conformance.ts) that both pass.
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { CorruptJobFileError, InvalidPrintInputError } from './errors.ts'

export type PrintJobKind = 'kitchen' | 'receipt' | 'raw'

export interface PrintJob {
  /** Idempotency key: queuing a job whose id is already queued keeps the first one. */
  readonly id: string
  readonly printerId: string
  readonly kind: PrintJobKind
  /** Short human description for the app ("Commande A17 → bar"). */
  readonly label: string
  /** Rendered ESC/POS bytes: a restart needs neither the catalog nor the renderer. */
  readonly bytes: Uint8Array
  /** Queue order; increases with every job queued on this device. */
  readonly seq: number
  readonly createdAt: number
  readonly attempts: number
  readonly lastError?: string
}

export interface PrintJobStore {
  /** Inserts or replaces the job with this id; durable when the promise resolves. */
  put(job: PrintJob): Promise<void>
  /** Removes a job; removing a missing id is not an error. */
  delete(id: string): Promise<void>
  /** Every stored job, ordered by seq. */
  list(): Promise<PrintJob[]>
}

export function validateJob(job: PrintJob): void {
  const ok =
    typeof job === 'object' &&
    job !== null &&
    typeof job.id === 'string' &&
    job.id !== '' &&
    typeof job.printerId === 'string' &&
    job.printerId !== '' &&
    ['kitchen', 'receipt', 'raw'].includes(job.kind) &&
    typeof job.label === 'string' &&
    job.bytes instanceof Uint8Array &&
    Number.isSafeInteger(job.seq) &&
    Number.isFinite(job.createdAt) &&
    Number.isSafeInteger(job.attempts) &&
    job.attempts >= 0 &&
    (job.lastError === undefined || typeof job.lastError === 'string')
  if (!ok) throw new InvalidPrintInputError(`invalid print job ${String(job?.id)}`)
}

const copyJob = (job: PrintJob): PrintJob => ({ ...job, bytes: job.bytes.slice() })
const bySeq = (a: PrintJob, b: PrintJob) => a.seq - b.seq || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

export class MemoryPrintJobStore implements PrintJobStore {
  readonly #jobs = new Map<string, PrintJob>()

  async put(job: PrintJob): Promise<void> {
    validateJob(job)
    this.#jobs.set(job.id, copyJob(job))
  }

  async delete(id: string): Promise<void> {
    this.#jobs.delete(id)
  }

  async list(): Promise<PrintJob[]> {
    return [...this.#jobs.values()].map(copyJob).sort(bySeq)
  }
}

interface StoredJob extends Omit<PrintJob, 'bytes'> {
  readonly v: 1
  readonly bytes: string
}

/**
 * One JSON file per job in a folder. Writes are atomic: temp file, fsync, rename, fsync of the folder,
 * so a crash leaves either the old or the new job, never a torn one.
 */
export class FsPrintJobStore implements PrintJobStore {
  readonly dir: string
  readonly #onCorrupt: (error: CorruptJobFileError) => void

  private constructor(dir: string, onCorrupt: (error: CorruptJobFileError) => void) {
    this.dir = dir
    this.#onCorrupt = onCorrupt
  }

  /** Creates the folder (mode 0700) and removes temp files left by a crash. */
  static async open(
    dir: string,
    options: { onCorrupt?: (error: CorruptJobFileError) => void } = {},
  ): Promise<FsPrintJobStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    for (const name of await readdir(dir)) {
      if (name.endsWith('.tmp')) await unlink(join(dir, name)).catch(() => {})
    }
    return new FsPrintJobStore(dir, options.onCorrupt ?? (() => {}))
  }

  #file(id: string): string {
    return join(this.dir, `${createHash('sha256').update(id).digest('hex')}.json`)
  }

  async put(job: PrintJob): Promise<void> {
    validateJob(job)
    const stored: StoredJob = { ...job, v: 1, bytes: Buffer.from(job.bytes).toString('base64') }
    const file = this.#file(job.id)
    const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`
    const handle = await open(temp, 'w', 0o600)
    try {
      await handle.writeFile(JSON.stringify(stored))
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, file)
    await this.#syncDir()
  }

  async delete(id: string): Promise<void> {
    try {
      await unlink(this.#file(id))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      throw err
    }
    await this.#syncDir()
  }

  async list(): Promise<PrintJob[]> {
    const jobs: PrintJob[] = []
    for (const name of await readdir(this.dir)) {
      if (!name.endsWith('.json')) continue
      const path = join(this.dir, name)
      try {
        const stored = JSON.parse(await readFile(path, 'utf8')) as StoredJob
        if (stored.v !== 1 || typeof stored.bytes !== 'string') throw new Error('unknown format')
        const { v: _version, bytes, ...rest } = stored
        const job: PrintJob = { ...rest, bytes: new Uint8Array(Buffer.from(bytes, 'base64')) }
        validateJob(job)
        if (this.#file(job.id) !== path) throw new Error('file name does not match job id')
        jobs.push(job)
      } catch (err) {
        // Left in place for a human to look at; the rest of the queue keeps printing.
        this.#onCorrupt(
          new CorruptJobFileError(`${path}: ${err instanceof Error ? err.message : String(err)}`),
        )
      }
    }
    return jobs.sort(bySeq)
  }

  async #syncDir(): Promise<void> {
    const handle = await open(this.dir, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  }
}
