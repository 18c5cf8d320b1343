// Sample orders and receipts shared by the printer tests.
import type { KitchenOrder, Receipt } from './model.ts'
import type { PrintAsset } from './money.ts'

export const euro: PrintAsset = { id: 'eur', symbol: '€', decimals: 2 }
export const giftPoints: PrintAsset = { id: 'gift', symbol: 'pts', decimals: 0 }
export const timeCurrency: PrintAsset = { id: 'time', symbol: 'h', decimals: 2 }

/** 21 Nov 2026 13:05 UTC. */
export const at = Date.UTC(2026, 10, 21, 13, 5)

export const order: KitchenOrder = {
  orderId: 'sale-7f3a',
  number: 'A17',
  label: 'Table 4',
  createdAt: at,
  lines: [
    { productId: 'p1', name: 'Bière pression', categoryId: 'drinks', quantity: 2 },
    { productId: 'p2', name: 'Crêpe complète', categoryId: 'food', quantity: 1, note: 'sans œuf' },
    { productId: 'p3', name: 'Café crème', categoryId: 'drinks', quantity: 1 },
    { productId: 'p4', name: 'Tote bag', categoryId: 'merch', quantity: 1 },
    { productId: 'p5', name: 'Gâteau du jour', categoryId: 'desserts', quantity: 3 },
  ],
}

export const receipt: Receipt = {
  venue: { name: 'Café Lakou', lines: ['12 rue des Écoles', '29000 Quimper'] },
  receiptId: 'T-0042',
  createdAt: at,
  currency: euro,
  lines: [
    { name: 'Bière pression', quantity: 2, unitPrice: 350, vatRate: 2000 },
    { name: 'Crêpe complète', quantity: 1, unitPrice: 850, vatRate: 1000 },
    { name: 'Jus de pomme', quantity: 1, unitPrice: 300, vatRate: 550 },
    { name: 'Gobelet consigné', quantity: -2, unitPrice: 100, vatRate: 0, deposit: true },
  ],
  payments: [
    { method: 'card', asset: euro, amount: 1000 },
    { method: 'card', asset: giftPoints, amount: 1 },
    { method: 'cash', asset: euro, amount: 500 },
  ],
  change: 50,
  cardBalances: [
    { asset: euro, balance: 1234 },
    { asset: giftPoints, balance: 3 },
  ],
  footer: ['Merci et à bientôt !'],
}
