// The print queue: renders orders and receipts, persists each job before acknowledging it, and sends it
// to its printer with retries and backoff until the printer takes it. A job is never dropped.

import { InvalidPrintInputError, PrintServiceNotStartedError, UnknownPrinterError } from './errors.ts'
import type { EscPosOptions } from './escpos.ts'
import { renderEscPos } from './escpos.ts'
import { notReadyStates, type PrinterStatus } from './escpos-status.ts'
import type { Locale } from './i18n.ts'
import type { PrintJob, PrintJobKind, PrintJobStore } from './job-store.ts'
import { validateJob } from './job-store.ts'
import { kitchenTicketBlocks } from './kitchen.ts'
import type { KitchenOrder, OrderLine, Receipt } from './model.ts'
import { receiptBlocks } from './receipt.ts'
import { type RoutingTable, routeOrder } from './routing.ts'
import type { PrinterAddress, PrinterTransport } from './tcp-client.ts'
import { TcpPrinterClient } from './tcp-client.ts'

export interface PrinterConfig extends PrinterAddress, EscPosOptions {
  readonly id: string
  /** Station name printed on kitchen tickets and shown in the app ("Bar", "Cuisine"). */
  readonly name: string
}

export interface RetryPolicy {
  readonly initialDelayMs: number
  readonly maxDelayMs: number
  readonly factor: number
}

export interface PrintServiceComponents {
  readonly store: PrintJobStore
  /** Defaults to a TcpPrinterClient. */
  readonly transport?: PrinterTransport
  readonly now?: () => number
}

export interface PrintServiceInit {
  readonly printers: readonly PrinterConfig[]
  readonly routing: RoutingTable
  readonly locale?: Locale
  readonly timeZone?: string
  readonly retry?: Partial<RetryPolicy>
  /** Check the status of idle printers this often (0: only when printing). Default 0. */
  readonly statusPollMs?: number
}

export interface PrintServiceEvents {
  'job-queued': { job: PrintJob }
  'job-printed': { job: PrintJob }
  /** An attempt failed; the job stays queued and is retried at `retryAt`. */
  'job-retry': { job: PrintJob; status: PrinterStatus; retryAt: number }
  'printer-status-changed': { printerId: string; status: PrinterStatus; previous: PrinterStatus }
}

export interface SubmittedOrder {
  readonly jobs: readonly PrintJob[]
  /** Lines no printer gets (no route, no default): show them to the cashier. */
  readonly unrouted: readonly OrderLine[]
}

const defaultRetry: RetryPolicy = { initialDelayMs: 500, maxDelayMs: 30_000, factor: 2 }

export class PrintService {
  readonly #store: PrintJobStore
  readonly #transport: PrinterTransport
  readonly #now: () => number
  readonly #printers: Map<string, PrinterConfig>
  readonly #routing: RoutingTable
  readonly #init: PrintServiceInit
  readonly #retry: RetryPolicy
  readonly #events = new EventTarget()
  readonly #queue = new Map<string, PrintJob>()
  /** Jobs being written to the store, so a concurrent enqueue of the same id waits for the first. */
  readonly #enqueuing = new Map<string, Promise<PrintJob>>()
  readonly #status = new Map<string, PrinterStatus>()
  readonly #delay = new Map<string, number>()
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>()
  readonly #draining = new Map<string, Promise<void>>()
  #pollTimer: ReturnType<typeof setInterval> | undefined
  #nextSeq = 1
  #started = false

  constructor(components: PrintServiceComponents, init: PrintServiceInit) {
    this.#store = components.store
    this.#transport = components.transport ?? new TcpPrinterClient()
    this.#now = components.now ?? Date.now
    this.#printers = new Map(init.printers.map((printer) => [printer.id, printer]))
    if (this.#printers.size !== init.printers.length) throw new InvalidPrintInputError('duplicate printer id')
    this.#routing = init.routing
    this.#init = init
    this.#retry = { ...defaultRetry, ...init.retry }
  }

  addEventListener<K extends keyof PrintServiceEvents>(
    type: K,
    listener: (event: CustomEvent<PrintServiceEvents[K]>) => void,
  ): void {
    this.#events.addEventListener(type, listener as EventListener)
  }

  removeEventListener<K extends keyof PrintServiceEvents>(
    type: K,
    listener: (event: CustomEvent<PrintServiceEvents[K]>) => void,
  ): void {
    this.#events.removeEventListener(type, listener as EventListener)
  }

  #emit<K extends keyof PrintServiceEvents>(type: K, detail: PrintServiceEvents[K]): void {
    this.#events.dispatchEvent(new CustomEvent(type, { detail }))
  }

  /** Reloads the queue from the store and starts sending it. */
  async start(): Promise<void> {
    if (this.#started) return
    for (const job of await this.#store.list()) {
      this.#queue.set(job.id, job)
      this.#nextSeq = Math.max(this.#nextSeq, job.seq + 1)
    }
    this.#started = true
    for (const printerId of new Set([...this.#queue.values()].map((job) => job.printerId)))
      this.#kick(printerId)
    if (this.#init.statusPollMs) {
      this.#pollTimer = setInterval(() => void this.#pollIdle(), this.#init.statusPollMs)
    }
  }

  /** Stops retries and polling, and waits for attempts in flight (their outcome is persisted). */
  async stop(): Promise<void> {
    this.#started = false
    clearInterval(this.#pollTimer)
    for (const timer of this.#timers.values()) clearTimeout(timer)
    this.#timers.clear()
    await Promise.allSettled([...this.#draining.values()])
    this.#queue.clear()
  }

  /** Routes the order by category and queues one kitchen ticket per printer. */
  async submitOrder(order: KitchenOrder): Promise<SubmittedOrder> {
    this.#requireStarted()
    const routed = routeOrder(order, this.#routing)
    const jobs: PrintJob[] = []
    for (const ticket of routed.tickets) {
      const printer = this.#printer(ticket.printerId)
      const bytes = renderEscPos(
        kitchenTicketBlocks(ticket, { ...this.#textOptions(), stationName: printer.name }),
        printer,
      )
      const number = order.number ?? order.orderId
      jobs.push(
        await this.enqueue({
          id: `${order.orderId}/kitchen/${printer.id}`,
          printerId: printer.id,
          kind: 'kitchen',
          label: `${number} → ${printer.name}`,
          bytes,
        }),
      )
    }
    return { jobs, unrouted: routed.unrouted }
  }

  /** Queues a customer receipt. `copy` makes a distinct job for a reprint of the same receipt. */
  async submitReceipt(receipt: Receipt, printerId: string, copy = 0): Promise<PrintJob> {
    this.#requireStarted()
    const printer = this.#printer(printerId)
    const bytes = renderEscPos(receiptBlocks(receipt, this.#textOptions()), printer)
    return this.enqueue({
      id: `${receipt.receiptId}/receipt/${printer.id}/${copy}`,
      printerId: printer.id,
      kind: 'receipt',
      label: `${receipt.receiptId} → ${printer.name}`,
      bytes,
    })
  }

  /**
   * Queues already-rendered bytes. Resolves once the job is persisted in the store. Queuing an id that is
   * still queued returns the queued job (retries by the caller never print twice).
   */
  async enqueue(request: {
    id: string
    printerId: string
    kind: PrintJobKind
    label: string
    bytes: Uint8Array
  }): Promise<PrintJob> {
    this.#requireStarted()
    const existing = this.#queue.get(request.id) ?? this.#enqueuing.get(request.id)
    if (existing) return existing
    const job: PrintJob = { ...request, seq: this.#nextSeq++, createdAt: this.#now(), attempts: 0 }
    validateJob(job)
    const stored = this.#store.put(job).then(() => {
      this.#queue.set(job.id, job)
      this.#emit('job-queued', { job })
      this.#kick(job.printerId)
      return job
    })
    this.#enqueuing.set(job.id, stored)
    try {
      return await stored
    } finally {
      this.#enqueuing.delete(job.id)
    }
  }

  /** Last known status of a printer ('unknown' until first contact). */
  status(printerId: string): PrinterStatus {
    return this.#status.get(printerId) ?? { state: 'unknown', detail: 'not contacted yet', at: 0 }
  }

  statuses(): Record<string, PrinterStatus> {
    return Object.fromEntries([...this.#printers.keys()].map((id) => [id, this.status(id)]))
  }

  /** Jobs waiting, oldest first, optionally for one printer. */
  pending(printerId?: string): PrintJob[] {
    return [...this.#queue.values()]
      .filter((job) => printerId === undefined || job.printerId === printerId)
      .sort((a, b) => a.seq - b.seq)
  }

  /** Asks the printer for its status now (the app's "check" button). */
  async refreshStatus(printerId: string): Promise<PrinterStatus> {
    const status = await this.#transport.queryStatus(this.#printer(printerId))
    this.#setStatus(printerId, status)
    return status
  }

  /** Skips the backoff wait of a printer (the app's "retry now" button, or the printer came back). */
  retryNow(printerId: string): void {
    clearTimeout(this.#timers.get(printerId))
    this.#timers.delete(printerId)
    this.#delay.delete(printerId)
    this.#kick(printerId)
  }

  #textOptions() {
    return { locale: this.#init.locale ?? 'fr', timeZone: this.#init.timeZone ?? 'Europe/Paris' }
  }

  #requireStarted(): void {
    if (!this.#started) throw new PrintServiceNotStartedError('print service is not started')
  }

  #printer(printerId: string): PrinterConfig {
    const printer = this.#printers.get(printerId)
    if (!printer) throw new UnknownPrinterError(`no printer configured with id ${printerId}`)
    return printer
  }

  #setStatus(printerId: string, status: PrinterStatus): void {
    const previous = this.status(printerId)
    this.#status.set(printerId, status)
    if (previous.state !== status.state || previous.paperNearEnd !== status.paperNearEnd) {
      this.#emit('printer-status-changed', { printerId, status, previous })
    }
  }

  /** Starts draining a printer's queue unless it is already draining or waiting for a retry. */
  #kick(printerId: string): void {
    if (!this.#started || this.#draining.has(printerId) || this.#timers.has(printerId)) return
    const draining = this.#drain(printerId)
      .catch(() => {
        // Store failure: the job is still queued; try again later.
        this.#scheduleRetry(printerId)
      })
      .finally(() => this.#draining.delete(printerId))
    this.#draining.set(printerId, draining)
  }

  async #drain(printerId: string): Promise<void> {
    while (this.#started) {
      const job = this.pending(printerId)[0]
      if (!job) return
      const printer = this.#printers.get(printerId)
      if (!printer) {
        // Kept until the printer is configured again; the app lists it through pending().
        this.#setStatus(printerId, { state: 'unknown', detail: 'printer not configured', at: this.#now() })
        return
      }
      const attempt = await this.#transport.print(printer, job.bytes).catch((err: unknown) => ({
        printed: false,
        status: { state: 'unreachable', detail: String(err), at: this.#now() } satisfies PrinterStatus,
      }))
      this.#setStatus(printerId, attempt.status)
      if (attempt.printed) {
        await this.#store.delete(job.id)
        this.#queue.delete(job.id)
        this.#delay.delete(printerId)
        this.#emit('job-printed', { job })
        continue
      }
      const failed: PrintJob = {
        ...job,
        attempts: job.attempts + 1,
        lastError: attempt.status.detail ?? attempt.status.state,
      }
      try {
        await this.#store.put(failed)
      } catch {
        // The job is still stored from enqueue: only its attempt counter is stale.
      }
      if (this.#queue.has(job.id)) this.#queue.set(job.id, failed)
      const delay = this.#scheduleRetry(printerId)
      this.#emit('job-retry', { job: failed, status: attempt.status, retryAt: this.#now() + delay })
      return
    }
  }

  /** Exponential backoff per printer: a printer that is off is not hammered, others are not delayed. */
  #scheduleRetry(printerId: string): number {
    const delay = this.#delay.get(printerId) ?? this.#retry.initialDelayMs
    this.#delay.set(printerId, Math.min(delay * this.#retry.factor, this.#retry.maxDelayMs))
    if (this.#started && !this.#timers.has(printerId)) {
      this.#timers.set(
        printerId,
        setTimeout(() => {
          this.#timers.delete(printerId)
          this.#kick(printerId)
        }, delay),
      )
    }
    return delay
  }

  /** Polls printers that are not printing; one waiting for a retry is retried as soon as it is back. */
  async #pollIdle(): Promise<void> {
    for (const printerId of this.#printers.keys()) {
      if (this.#draining.has(printerId) || !this.#started) continue
      const status = await this.refreshStatus(printerId).catch(() => undefined)
      const ready = status && status.state !== 'unreachable' && !notReadyStates.has(status.state)
      if (ready && this.#timers.has(printerId)) this.retryNow(printerId)
    }
  }
}
