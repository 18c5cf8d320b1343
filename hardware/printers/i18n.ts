// Printed strings, French first. Each locale is one small catalog object with the same keys.

const fr = {
  receipt: 'Ticket',
  order: 'Commande',
  table: 'Table',
  total: 'Total TTC',
  vatRate: 'Taux TVA',
  net: 'HT',
  vat: 'TVA',
  gross: 'TTC',
  depositReturns: 'Consignes rendues',
  payments: 'Paiements',
  paidWithCard: 'Carte',
  cash: 'Espèces',
  bankCard: 'Carte bancaire',
  change: 'Rendu monnaie',
  cardBalance: 'Solde carte',
  reprint: 'RÉIMPRESSION',
  unrouted: 'Non routé',
} as const

export type Catalog = { readonly [K in keyof typeof fr]: string }

const en: Catalog = {
  receipt: 'Receipt',
  order: 'Order',
  table: 'Table',
  total: 'Total incl. VAT',
  vatRate: 'VAT rate',
  net: 'Net',
  vat: 'VAT',
  gross: 'Gross',
  depositReturns: 'Deposit returns',
  payments: 'Payments',
  paidWithCard: 'Card',
  cash: 'Cash',
  bankCard: 'Bank card',
  change: 'Change',
  cardBalance: 'Card balance',
  reprint: 'REPRINT',
  unrouted: 'Unrouted',
}

export const catalogs = { fr, en } satisfies Record<string, Catalog>
export type Locale = keyof typeof catalogs

export function catalogFor(locale: Locale = 'fr'): Catalog {
  return catalogs[locale] ?? catalogs.fr
}
