// Reads full ledger pages sent whole (page-transfer.ts): on the calling thread (readWholePage), or, opted in
// (`worker: true`, LAKOU_PAGE_WORKER=1), in a worker thread. Why the option: a fresh till catching up loads
// every full page with Automerge once to read its records (13-25 ms a page of 1,000 records, 200 pages at
// 200k records), and its main thread, which feeds the ledger's signature checks and applies their results,
// waited for a core more than it ran. Measured on two shared cores (bench/catch-up.ts, festival README
// "Sixth session, H3"): no gain in catch-up time at that noise, and the worker's own Automerge and heap
// added 15-20 MB to the fresh till's peak RSS, so it is off by default. The worker ends after `idleMs`
// without a page.
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import * as A from '@automerge/automerge'
import type { FullPageRequest } from '../docs/mod.ts'
import { classifyDoc, PAGE_CAPACITY } from '../docs/schema.ts'

/** A page's records and heads, read from its bytes. */
export interface WholePage {
  records: Uint8Array[]
  heads: string[]
}

/**
 * The records and heads of a page sent whole, if it loads and is the full page asked for: a ledger page of
 * that venue, device and number holding exactly `capacity` records, all bytes. Undefined otherwise. (Each
 * record is still validated by the ledger: this only keeps a wrong or partial page off disk.)
 */
export function readWholePage(
  bytes: Uint8Array,
  want: FullPageRequest,
  capacity: number = PAGE_CAPACITY,
): WholePage | undefined {
  let doc: A.Doc<{ records?: unknown[] }> | undefined
  try {
    doc = A.loadIncremental(A.init<{ records?: unknown[] }>(), bytes)
    const cls = classifyDoc(doc)
    const records = doc.records
    if (
      cls?.kind !== 'ledger-page' ||
      cls.venueId !== want.venueId ||
      cls.deviceId !== want.deviceId ||
      cls.page !== want.page ||
      !Array.isArray(records) ||
      records.length !== capacity
    )
      return undefined
    const out: Uint8Array[] = []
    for (const r of records) {
      if (!(r instanceof Uint8Array)) return undefined
      out.push(r)
    }
    return { records: out, heads: A.getHeads(doc) }
  } catch {
    return undefined
  } finally {
    if (doc) A.free(doc)
  }
}

// The worker: loads the bytes, answers the page's fields and its records packed in one buffer (one
// transfer, not a thousand structured clones). The main thread checks the fields (readWholePage's rules).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const A = require(workerData.automerge)
const text = (v) => (typeof v === 'string' ? v : A.isImmutableString(v) ? v.val : undefined)
parentPort.on('message', ({ id, bytes }) => {
  let doc
  try {
    doc = A.loadIncremental(A.init(), bytes)
    const list = Array.isArray(doc.records) ? doc.records : []
    let size = 0
    let allBytes = Array.isArray(doc.records)
    for (const r of list) {
      if (!(r instanceof Uint8Array)) allBytes = false
      else size += r.length
    }
    const buf = new Uint8Array(allBytes ? size : 0)
    const ends = new Uint32Array(allBytes ? list.length : 0)
    if (allBytes) {
      let at = 0
      list.forEach((r, i) => { buf.set(r, at); at += r.length; ends[i] = at })
    }
    const fields = { lakou: doc.lakou, venueId: text(doc.venueId), deviceId: text(doc.deviceId), page: doc.page }
    parentPort.postMessage({ id, fields, allBytes, count: list.length, heads: A.getHeads(doc), buf, ends }, [buf.buffer, ends.buffer])
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.message || e) })
  } finally {
    if (doc) A.free(doc)
  }
})
`

interface WorkerAnswer {
  id: number
  error?: string
  fields?: { lakou: unknown; venueId?: string; deviceId?: string; page: unknown }
  allBytes?: boolean
  count?: number
  heads?: string[]
  buf?: Uint8Array
  ends?: Uint32Array
}

export interface PageReaderOptions {
  /** The worker ends after this long without a page (default 10 s); the next page starts another. */
  idleMs?: number
  /** true: load in a worker thread (default: LAKOU_PAGE_WORKER=1); else on the calling thread. */
  worker?: boolean
}

/** readWholePage on the calling thread, or in a worker thread (in order), falling back to the calling thread. */
export class PageReader {
  readonly #idleMs: number
  readonly #useWorker: boolean
  #worker: Worker | undefined
  #idleTimer: ReturnType<typeof setTimeout> | undefined
  #next = 0
  readonly #waiting = new Map<number, (a: WorkerAnswer) => void>()
  /** Pages read in the worker / on the calling thread (the worker failed or is off). */
  readonly stats = { inWorker: 0, inThread: 0 }

  constructor(options: PageReaderOptions = {}) {
    this.#idleMs = options.idleMs ?? 10_000
    this.#useWorker = options.worker ?? process.env.LAKOU_PAGE_WORKER === '1'
  }

  async read(
    bytes: Uint8Array,
    want: FullPageRequest,
    capacity: number = PAGE_CAPACITY,
  ): Promise<WholePage | undefined> {
    const worker = this.#useWorker ? this.#start() : undefined
    if (!worker) {
      this.stats.inThread++
      return readWholePage(bytes, want, capacity)
    }
    const id = this.#next++
    const answer = await new Promise<WorkerAnswer>((resolve) => {
      this.#waiting.set(id, resolve)
      // a copy: the caller may still hold (and store) its bytes
      worker.postMessage({ id, bytes })
    })
    this.#armIdle()
    if (answer.error === 'worker gone') {
      this.stats.inThread++
      return readWholePage(bytes, want, capacity)
    }
    this.stats.inWorker++
    const f = answer.fields
    if (
      answer.error ||
      !f ||
      f.lakou !== 'ledger-page/v1' ||
      f.venueId !== want.venueId ||
      f.deviceId !== want.deviceId ||
      f.page !== want.page ||
      !answer.allBytes ||
      answer.count !== capacity ||
      !answer.buf ||
      !answer.ends
    )
      return undefined
    const records: Uint8Array[] = new Array(capacity)
    let at = 0
    for (let i = 0; i < capacity; i++) {
      const end = answer.ends[i]!
      records[i] = answer.buf.subarray(at, end)
      at = end
    }
    return { records, heads: answer.heads ?? [] }
  }

  #start(): Worker | undefined {
    if (this.#worker) return this.#worker
    try {
      const automerge = createRequire(import.meta.url).resolve('@automerge/automerge')
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { automerge } })
      worker.unref()
      worker.on('message', (a: WorkerAnswer) => {
        const resolve = this.#waiting.get(a.id)
        this.#waiting.delete(a.id)
        resolve?.(a)
      })
      const gone = () => {
        if (this.#worker === worker) this.#worker = undefined
        for (const [id, resolve] of this.#waiting) resolve({ id, error: 'worker gone' })
        this.#waiting.clear()
      }
      worker.on('error', gone)
      worker.on('exit', gone)
      this.#worker = worker
      return worker
    } catch {
      return undefined
    }
  }

  #armIdle(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer)
    this.#idleTimer = setTimeout(() => {
      if (this.#waiting.size === 0) void this.stop()
    }, this.#idleMs)
    this.#idleTimer.unref?.()
  }

  async stop(): Promise<void> {
    if (this.#idleTimer) clearTimeout(this.#idleTimer)
    const w = this.#worker
    this.#worker = undefined
    if (w) await w.terminate()
  }
}
