import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { PrintServiceNotStartedError, UnknownPrinterError } from './errors.ts'
import { FakePrinter } from './fake-printer.ts'
import { order, receipt } from './fixtures.ts'
import { FsPrintJobStore, MemoryPrintJobStore, type PrintJobStore } from './job-store.ts'
import { PrintService, type PrintServiceEvents, type PrintServiceInit } from './print-service.ts'
import { TcpPrinterClient } from './tcp-client.ts'

type Recorded = {
  [K in keyof PrintServiceEvents]: { type: K; detail: PrintServiceEvents[K] }
}[keyof PrintServiceEvents]

describe('PrintService with fake TCP printers', () => {
  let bar: FakePrinter
  let kitchen: FakePrinter
  const services: PrintService[] = []

  beforeEach(async () => {
    bar = new FakePrinter()
    kitchen = new FakePrinter()
    await bar.start()
    await kitchen.start()
  })
  afterEach(async () => {
    for (const service of services.splice(0)) await service.stop()
    await bar.stop()
    await kitchen.stop()
  })

  function makeService(store: PrintJobStore, overrides: Partial<PrintServiceInit> = {}) {
    const service = new PrintService(
      // Generous timeouts: a fake printer of this process that a loaded machine stalls past a short status
      // timeout would read as 'unknown' instead of 'online' or 'out-of-paper'.
      { store, transport: new TcpPrinterClient({ connectTimeoutMs: 10_000, statusTimeoutMs: 10_000 }) },
      {
        printers: [
          { id: 'bar', name: 'Bar', host: '127.0.0.1', port: bar.port },
          { id: 'kitchen', name: 'Cuisine', host: '127.0.0.1', port: kitchen.port, codepage: 'cp858' },
        ],
        routing: { routes: { drinks: 'bar', food: 'kitchen', desserts: 'kitchen', merch: null } },
        timeZone: 'UTC',
        retry: { initialDelayMs: 40, maxDelayMs: 200, factor: 2 },
        ...overrides,
      },
    )
    const events: Recorded[] = []
    for (const type of ['job-queued', 'job-printed', 'job-retry', 'printer-status-changed'] as const) {
      service.addEventListener(type, (event) => events.push({ type, detail: event.detail } as Recorded))
    }
    services.push(service)
    return { service, events }
  }

  function until<K extends keyof PrintServiceEvents>(
    service: PrintService,
    type: K,
    match: (detail: PrintServiceEvents[K]) => boolean = () => true,
  ): Promise<PrintServiceEvents[K]> {
    return new Promise((resolve) => {
      const listener = (event: CustomEvent<PrintServiceEvents[K]>) => {
        if (!match(event.detail)) return
        service.removeEventListener(type, listener)
        resolve(event.detail)
      }
      service.addEventListener(type, listener)
    })
  }

  it('routes an order by category: the bar gets the drinks, the kitchen the food', async () => {
    const { service, events } = makeService(new MemoryPrintJobStore())
    await service.start()
    const printed = Promise.all([
      until(service, 'job-printed', (d) => d.job.printerId === 'bar'),
      until(service, 'job-printed', (d) => d.job.printerId === 'kitchen'),
    ])
    const submitted = await service.submitOrder(order)
    expect(submitted.jobs.map((job) => job.id)).toEqual([
      'sale-7f3a/kitchen/bar',
      'sale-7f3a/kitchen/kitchen',
    ])
    expect(submitted.unrouted).toEqual([])
    await printed
    const [barTicket] = await bar.waitForPages(1)
    const [kitchenTicket] = await kitchen.waitForPages(1)
    const barLines = barTicket?.lines.map((line) => line.text.trim())
    const kitchenLines = kitchenTicket?.lines.map((line) => line.text.trim())
    expect(barLines).toEqual(
      expect.arrayContaining(['Bar', 'Commande A17', 'Table 4', '2 x Bière pression', '1 x Café crème']),
    )
    expect(barLines?.join('\n')).not.toMatch(/Crêpe|Gâteau|Tote/)
    expect(kitchenLines).toEqual(
      expect.arrayContaining(['Cuisine', '1 x Crêpe complète', '> sans oeuf', '3 x Gâteau du jour']),
    )
    expect(kitchenLines?.join('\n')).not.toMatch(/Bière|Café|Tote/)
    expect(kitchenTicket?.codepages).toContain(19) // cp858 as configured for this printer
    expect(events.filter((e) => e.type === 'job-queued')).toHaveLength(2)
    expect(service.status('bar').state).toBe('online')
    expect(service.pending()).toEqual([])
  })

  it('reports lines no printer gets when there is no default printer', async () => {
    const { service } = makeService(new MemoryPrintJobStore(), { routing: { routes: { drinks: 'bar' } } })
    await service.start()
    const submitted = await service.submitOrder(order)
    expect(submitted.jobs.map((job) => job.printerId)).toEqual(['bar'])
    expect(submitted.unrouted.map((line) => line.productId)).toEqual(['p2', 'p4', 'p5'])
  })

  it('keeps a job while the printer is off and prints it once when it comes back', async () => {
    await bar.stop()
    const { service, events } = makeService(new MemoryPrintJobStore())
    await service.start()
    const unreachable = until(service, 'printer-status-changed', (d) => d.status.state === 'unreachable')
    const retried = until(service, 'job-retry')
    await service.submitOrder({ ...order, lines: order.lines.slice(0, 1) })
    expect((await unreachable).printerId).toBe('bar')
    expect((await retried).job.attempts).toBe(1)
    expect(service.pending().map((job) => job.id)).toEqual(['sale-7f3a/kitchen/bar'])
    // A second submission of the same order (the till retrying) does not queue a second ticket.
    await service.submitOrder({ ...order, lines: order.lines.slice(0, 1) })
    expect(service.pending()).toHaveLength(1)

    const printed = until(service, 'job-printed')
    await bar.start()
    expect((await printed).job.id).toBe('sale-7f3a/kitchen/bar')
    await bar.waitForPages(1)
    await new Promise((resolve) => setTimeout(resolve, 150))
    expect(bar.texts()).toHaveLength(1)
    expect(bar.texts()[0]).toContain('2 x Bière pression')
    expect(service.pending()).toEqual([])
    const states = events.filter((e) => e.type === 'printer-status-changed').map((e) => e.detail.status.state)
    expect(states).toEqual(['unreachable', 'online'])
  })

  it('waits out of paper, without blocking the other printer, and prints once paper is back', async () => {
    bar.mode = 'out-of-paper'
    const { service } = makeService(new MemoryPrintJobStore())
    await service.start()
    const noPaper = until(service, 'printer-status-changed', (d) => d.status.state === 'out-of-paper')
    const kitchenPrinted = until(service, 'job-printed', (d) => d.job.printerId === 'kitchen')
    await service.submitOrder(order)
    await noPaper
    await kitchenPrinted
    expect(bar.pages()).toEqual([])
    expect(service.pending().map((job) => job.printerId)).toEqual(['bar'])
    expect(service.status('bar').state).toBe('out-of-paper')

    const barPrinted = until(service, 'job-printed', (d) => d.job.printerId === 'bar')
    bar.mode = 'online'
    await barPrinted
    expect((await bar.waitForPages(1))[0]?.lines.map((line) => line.text.trim())).toContain('1 x Café crème')
  })

  it('survives a restart: the queued receipt is reloaded from disk and printed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lakou-print-queue-'))
    try {
      await kitchen.stop()
      const first = makeService(await FsPrintJobStore.open(dir))
      await first.service.start()
      const retried = until(first.service, 'job-retry')
      const job = await first.service.submitReceipt(receipt, 'kitchen')
      // persisted before submitReceipt resolved (a retry may be rewriting it through a .tmp file right now)
      expect((await readdir(dir)).filter((name) => name.endsWith('.json'))).toHaveLength(1)
      await retried
      await first.service.stop()

      await kitchen.start()
      const second = makeService(await FsPrintJobStore.open(dir))
      const printed = until(second.service, 'job-printed')
      await second.service.start()
      expect((await printed).job).toMatchObject({ id: job.id, attempts: 1 })
      const pages = await kitchen.waitForPages(1)
      const text = pages[0]?.lines.map((line) => line.text).join('\n')
      expect(text).toContain('Café Lakou')
      expect(text).toMatch(/Total TTC\s+16,50 €/)
      expect(text).toMatch(/Solde carte \(€\)\s+12,34 €/)
      expect(await readdir(dir)).toEqual([])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('retries as soon as a status poll sees the printer back, before the backoff ends', async () => {
    await bar.stop()
    const { service } = makeService(new MemoryPrintJobStore(), {
      retry: { initialDelayMs: 60_000, maxDelayMs: 60_000, factor: 2 },
      statusPollMs: 50,
    })
    await service.start()
    const retried = until(service, 'job-retry')
    await service.submitOrder({ ...order, lines: order.lines.slice(0, 1) })
    await retried
    const printed = until(service, 'job-printed')
    await bar.start()
    await printed
    expect(bar.texts()[0]).toContain('Bière pression')
  })

  it('queues one job when the same order is submitted twice at once', async () => {
    await bar.stop()
    const store = new MemoryPrintJobStore()
    const { service, events } = makeService(store)
    await service.start()
    const [a, b] = await Promise.all([service.submitOrder(order), service.submitOrder(order)])
    expect(a.jobs.map((job) => job.id)).toEqual(b.jobs.map((job) => job.id))
    expect((await store.list()).filter((job) => job.printerId === 'bar')).toHaveLength(1)
    expect(events.filter((e) => e.type === 'job-queued')).toHaveLength(2) // bar + kitchen, once each
  })

  it('refuses work before start and for unknown printers with typed errors, queuing nothing', async () => {
    const store = new MemoryPrintJobStore()
    const { service } = makeService(store)
    await expect(service.submitReceipt(receipt, 'bar')).rejects.toBeInstanceOf(PrintServiceNotStartedError)
    await service.start()
    await expect(service.submitReceipt(receipt, 'terrace')).rejects.toBeInstanceOf(UnknownPrinterError)
    expect(await store.list()).toEqual([])
  })
})
