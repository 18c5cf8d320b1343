// Kitchen tickets and receipt previews through hardware/printers. The demo has no printer on its LAN, so
// it starts the printers' own FakePrinter on 127.0.0.1 as its "kitchen printer"; a venue lists real
// ESC/POS printers instead. Jobs are persisted in the data folder and retried until printed.
import { join } from 'node:path'
import {
  FakePrinter,
  FsPrintJobStore,
  type KitchenOrder,
  PrintService,
  type Receipt,
  receiptPreviewSvg,
} from '../../hardware/printers/mod.ts'
import type { CategoryView } from '../shared/protocol.ts'

export interface PrinterPort {
  /** Queues the kitchen tickets of an order (routed by category); resolves once queued on disk. */
  printKitchen(order: KitchenOrder): Promise<void>
  receiptSvg(receipt: Receipt): string
  stop(): Promise<void>
}

export interface DemoPrinting extends PrinterPort {
  /** The demo's kitchen printer (a FakePrinter): what it printed, decoded. */
  readonly kitchen: FakePrinter
}

export async function startDemoPrinting(
  dataDir: string,
  categories: CategoryView[] | (() => CategoryView[]),
): Promise<DemoPrinting> {
  const printer = new FakePrinter()
  await printer.start()
  // The routing table is read at each order: refreshed from the (synced) categories before each submit.
  const routes: Record<string, string | null> = {}
  const refreshRoutes = () => {
    for (const k of Object.keys(routes)) delete routes[k]
    for (const c of typeof categories === 'function' ? categories() : categories)
      routes[c.id] = c.printer ?? null
  }
  refreshRoutes()
  const service = new PrintService(
    { store: await FsPrintJobStore.open(join(dataDir, 'print-jobs')) },
    {
      printers: [{ id: 'kitchen', name: 'Cuisine', host: '127.0.0.1', port: printer.port }],
      routing: { routes },
      locale: 'fr',
      timeZone: 'Europe/Paris',
    },
  )
  await service.start()
  return {
    kitchen: printer,
    async printKitchen(order) {
      refreshRoutes()
      await service.submitOrder(order)
    },
    receiptSvg: (receipt) => receiptPreviewSvg(receipt),
    async stop() {
      await service.stop()
      await printer.stop()
    },
  }
}
