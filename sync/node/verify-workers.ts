// Ed25519 verifications of a ledger batch (a fresh till catching up, a ledger rebuild) in a few worker
// threads, each checking a batch of signatures synchronously with node:crypto, instead of one libuv pool job
// per signature. Why: through the pool every verify cost the main thread ~20 us (a job, its buffers, a
// callback and its closure) and the pool ~10 % more CPU than the same verify run in a loop; on two cores
// the main thread, which feeds the verifies and applies their results, then waited for a core behind 16
// pool threads (bench/festival/README "Seventh session, H3": per verify, main thread ~22 -> ~4 us, all
// threads ~164 -> ~134 us, load 45). A CallbackVerifier for LedgerIndex.useVerifier: the ledger stays
// pure and unaware of threads.
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import {
  type CallbackVerifier,
  countVerifications,
  type VerifyDone,
  verifySignatureCallback,
} from './ledger.ts'

// One batch: public keys (32 bytes each), signatures (64 each), messages end to end with their ends.
// Answers one byte per signature (1: valid). Keys become KeyObjects once (a page's records share one).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads')
const crypto = require('node:crypto')
const SPKI = Buffer.from('302a300506032b6570032100', 'hex')
const keys = new Map()
let lastKey = '', lastObject = null
parentPort.on('message', ({ id, n, keys: k, sigs, msgs, ends }) => {
  const out = new Uint8Array(n)
  let at = 0
  for (let i = 0; i < n; i++) {
    const end = ends[i]
    try {
      const raw = k.subarray(i * 32, i * 32 + 32)
      const name = Buffer.from(raw.buffer, raw.byteOffset, 32).toString('latin1')
      let key = name === lastKey ? lastObject : keys.get(name)
      if (key === undefined) {
        if (keys.size >= 50000) keys.clear()
        try { key = crypto.createPublicKey({ key: Buffer.concat([SPKI, raw]), format: 'der', type: 'spki' }) }
        catch { key = null }
        keys.set(name, key)
      }
      lastKey = name
      lastObject = key
      out[i] = key !== null && crypto.verify(null, msgs.subarray(at, end), key, sigs.subarray(i * 64, i * 64 + 64)) ? 1 : 0
    } catch { out[i] = 0 }
    at = end
  }
  parentPort.postMessage({ id, out }, [out.buffer])
})
`

export interface VerifyWorkersOptions {
  /** Worker threads (default LAKOU_VERIFY_WORKERS, else the cores, at most 4). */
  workers?: number
  /** Signatures per batch handed to a worker (default 64). */
  batch?: number
  /** Workers end after this long without a batch (default 10 s); the next batch starts them again. */
  idleMs?: number
  /** Where signatures go when a worker dies (default node:crypto on libuv's pool). */
  fallback?: CallbackVerifier
  /** The worker's source (tests: a worker that dies). */
  source?: string
}

/** Signatures gathered for one worker message, and whom to tell. */
class Batch {
  n = 0
  readonly keys: Uint8Array
  readonly sigs: Uint8Array
  readonly ends: Uint32Array
  msgs: Uint8Array
  msgEnd = 0
  readonly dones: Array<VerifyDone<unknown>> = []
  readonly tags: unknown[] = []

  constructor(size: number) {
    this.keys = new Uint8Array(size * 32)
    this.sigs = new Uint8Array(size * 64)
    this.ends = new Uint32Array(size)
    this.msgs = new Uint8Array(size * 48)
  }

  add(
    publicKey: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
    done: VerifyDone<unknown>,
    tag: unknown,
  ) {
    const i = this.n++
    this.keys.set(publicKey, i * 32)
    this.sigs.set(signature, i * 64)
    if (this.msgEnd + message.length > this.msgs.length) {
      const grown = new Uint8Array(Math.max(this.msgs.length * 2, this.msgEnd + message.length))
      grown.set(this.msgs.subarray(0, this.msgEnd))
      this.msgs = grown
    }
    this.msgs.set(message, this.msgEnd)
    this.msgEnd += message.length
    this.ends[i] = this.msgEnd
    this.dones.push(done)
    this.tags.push(tag)
  }
}

interface Thread {
  worker: Worker
  pending: Map<number, Batch>
  items: number
}

export class VerifyWorkers {
  readonly #size: number
  readonly #batch: number
  readonly #idleMs: number
  readonly #fallback: CallbackVerifier
  readonly #source: string
  #threads: Thread[] = []
  #open: Batch | undefined
  #flushQueued = false
  #next = 0
  #idle: ReturnType<typeof setTimeout> | undefined
  #stopped = false
  /** Batches and signatures sent to workers; signatures redone by the fallback after a worker died. */
  readonly stats = { batches: 0, signatures: 0, fallback: 0, started: 0 }

  constructor(options: VerifyWorkersOptions = {}) {
    const fromEnv = Number(process.env.LAKOU_VERIFY_WORKERS)
    this.#size = Math.max(
      1,
      Math.floor(options.workers ?? (fromEnv > 0 ? fromEnv : Math.min(4, availableParallelism()))),
    )
    this.#batch = Math.max(1, Math.floor(options.batch ?? 64))
    this.#idleMs = options.idleMs ?? 10_000
    this.#fallback = options.fallback ?? verifySignatureCallback
    this.#source = options.source ?? WORKER_SOURCE
  }

  /** Signatures worth having in flight: two batches queued per worker, so none waits for the main thread. */
  get inFlight(): number {
    return this.#size * this.#batch * 2
  }

  /** Worker threads running now. */
  get running(): number {
    return this.#threads.length
  }

  /**
   * A CallbackVerifier (LedgerIndex.useVerifier): the signature joins the open batch, which goes to a
   * worker when full or once the caller's synchronous loop is done (a microtask). Verdicts come later.
   */
  readonly verify: CallbackVerifier = (publicKey, message, signature, done, tag) => {
    if (publicKey.length !== 32 || signature.length !== 64) return false
    if (this.#stopped) return this.#fallback(publicKey, message, signature, done, tag)
    this.#open ??= new Batch(this.#batch)
    this.#open.add(publicKey, message, signature, done as VerifyDone<unknown>, tag)
    if (this.#open.n >= this.#batch) this.#flush()
    else if (!this.#flushQueued) {
      this.#flushQueued = true
      queueMicrotask(() => {
        this.#flushQueued = false
        this.#flush()
      })
    }
    return true
  }

  #flush(): void {
    const batch = this.#open
    this.#open = undefined
    if (!batch || batch.n === 0) return
    const thread = this.#stopped ? undefined : this.#pick()
    if (!thread) {
      this.#redo(batch)
      return
    }
    if (this.#idle) clearTimeout(this.#idle)
    this.#idle = undefined
    const id = this.#next++
    if (thread.items === 0) thread.worker.ref()
    thread.pending.set(id, batch)
    thread.items += batch.n
    this.stats.batches++
    this.stats.signatures += batch.n
    countVerifications(batch.n)
    // copies (not transferred): a batch of a worker that dies is redone from them
    thread.worker.postMessage({
      id,
      n: batch.n,
      keys: batch.keys.subarray(0, batch.n * 32),
      sigs: batch.sigs.subarray(0, batch.n * 64),
      msgs: batch.msgs.subarray(0, batch.msgEnd),
      ends: batch.ends.subarray(0, batch.n),
    })
  }

  // the least loaded worker, the pool started first if need be
  #pick(): Thread | undefined {
    if (this.#threads.length < this.#size) {
      try {
        while (this.#threads.length < this.#size) this.#threads.push(this.#spawn())
      } catch {
        if (this.#threads.length === 0) return undefined
      }
    }
    let best = this.#threads[0]!
    for (const t of this.#threads) if (t.items < best.items) best = t
    return best
  }

  #spawn(): Thread {
    const worker = new Worker(this.#source, { eval: true })
    worker.unref()
    const thread: Thread = { worker, pending: new Map(), items: 0 }
    worker.on('message', ({ id, out }: { id: number; out: Uint8Array }) => {
      const batch = thread.pending.get(id)
      if (!batch) return
      thread.pending.delete(id)
      thread.items -= batch.n
      if (thread.items === 0) worker.unref()
      if (thread.items === 0 && this.#threads.every((t) => t.items === 0)) this.#armIdle()
      for (let i = 0; i < batch.n; i++) batch.dones[i]!(batch.tags[i], out[i] === 1)
    })
    const gone = () => {
      const at = this.#threads.indexOf(thread)
      if (at >= 0) this.#threads.splice(at, 1)
      const left = [...thread.pending.values()]
      thread.pending.clear()
      thread.items = 0
      for (const batch of left) this.#redo(batch)
    }
    worker.on('error', gone)
    worker.on('exit', gone)
    this.stats.started++
    return thread
  }

  // a batch no worker will answer: each signature through the fallback verifier (still never synchronous)
  #redo(batch: Batch): void {
    this.stats.fallback += batch.n
    let at = 0
    for (let i = 0; i < batch.n; i++) {
      const end = batch.ends[i]!
      const done = batch.dones[i]!
      const tag = batch.tags[i]
      const started = this.#fallback(
        batch.keys.subarray(i * 32, i * 32 + 32),
        batch.msgs.subarray(at, end),
        batch.sigs.subarray(i * 64, i * 64 + 64),
        done,
        tag,
      )
      if (!started) queueMicrotask(() => done(tag, false))
      at = end
    }
  }

  #armIdle(): void {
    if (this.#idle) clearTimeout(this.#idle)
    this.#idle = setTimeout(() => {
      this.#idle = undefined
      if (this.#threads.every((t) => t.items === 0)) void this.#end()
    }, this.#idleMs)
    this.#idle.unref?.()
  }

  async #end(): Promise<void> {
    const threads = this.#threads
    this.#threads = []
    // terminating: their 'exit' finds no pending batch left to redo (a busy one's batches are redone)
    await Promise.all(threads.map((t) => t.worker.terminate()))
  }

  /** Ends the workers; signatures still in flight are redone by the fallback, later ones go to it. */
  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#idle) clearTimeout(this.#idle)
    this.#idle = undefined
    this.#flush()
    await this.#end()
  }
}
