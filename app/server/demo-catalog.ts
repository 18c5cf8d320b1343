// The demo venue's catalog and agenda: bar, kitchen, deposit cups, memberships, two events.
// Prices are integer cents, VAT in basis points (French rates: 20 % drinks with alcohol, 10 % food and
// soft drinks on site, 5.5 % tickets, 0 % memberships of an association).
import type { CategoryView, EventView, PlanView, ProductView } from '../shared/protocol.ts'

export interface Catalog {
  categories: CategoryView[]
  products: ProductView[]
  plans: PlanView[]
  events: Omit<EventView, 'checkedIn' | 'doubleEntries'>[]
}

const p = (
  id: string,
  name: string,
  categoryId: string,
  price: number,
  vatBp: number,
  deposit = false,
): ProductView => ({
  id,
  name,
  categoryId,
  price,
  asset: 'EUR',
  vatBp,
  ...(deposit ? { deposit } : {}),
})

export function demoCatalog(now = Date.now()): Catalog {
  const day = 86_400_000
  const evening = (d: number) =>
    new Date(Math.floor(now / day) * day + d * day + 19 * 3_600_000).toISOString()
  return {
    categories: [
      { id: 'bar', name: 'Bar' },
      { id: 'kitchen', name: 'Cuisine', printer: 'kitchen' },
      { id: 'deposit', name: 'Consignes' },
    ],
    products: [
      p('beer', 'Bière pression', 'bar', 350, 2000),
      p('ipa', 'IPA locale', 'bar', 450, 2000),
      p('wine', 'Verre de vin', 'bar', 400, 2000),
      p('juice', 'Jus de pomme', 'bar', 250, 1000),
      p('coffee', 'Café', 'bar', 150, 1000),
      p('fries', 'Frites', 'kitchen', 400, 1000),
      p('burger', 'Burger veggie', 'kitchen', 950, 1000),
      p('crepe', 'Crêpe', 'kitchen', 300, 1000),
      p('cup', 'Gobelet consigné', 'deposit', 100, 0, true),
    ],
    plans: [
      { id: 'member-year', name: 'Adhésion annuelle', price: 1000, asset: 'EUR', days: 365 },
      { id: 'member-solidarity', name: 'Adhésion solidaire', price: 200, asset: 'EUR', days: 365 },
    ],
    events: [
      {
        id: 'concert',
        name: 'Concert du vendredi',
        startsAt: evening(0),
        capacity: 120,
        ticketTypes: [
          { id: 'concert-full', name: 'Plein tarif', price: 1200, asset: 'EUR' },
          { id: 'concert-member', name: 'Tarif adhérent', price: 800, asset: 'EUR' },
        ],
      },
      {
        id: 'bal',
        name: 'Bal folk',
        startsAt: evening(1),
        capacity: 80,
        ticketTypes: [{ id: 'bal-std', name: 'Entrée', price: 600, asset: 'EUR' }],
      },
    ],
  }
}
