// Reports, Z close-out and exports, computed from valid ledger records only (never from stored totals).
// Pure functions: the service passes the records the ledger index accepted.
import { toHex } from '../../ledger/bytes.ts'
import type { LedgerRecord, Refund, Sale, TillCloseOut, TopUp, Void } from '../../ledger/types.ts'
import type { Report, ReportRow } from '../shared/protocol.ts'

/** A valid record with its content hash (hex), as the service gets them from the index. */
export interface ReportRecord {
  hash: string
  record: LedgerRecord
}

/** Lines that move an amount between two cards of one split payment, not a product (see sale-builder.ts). */
export const SPLIT_PRODUCT = 'lakou.split'

const isSale = (r: ReportRecord): r is { hash: string; record: Sale } => r.record.kind === 'sale'

/** Sales not voided, in the asset. A void cancels its target sale wholesale. */
export function effectiveSales(records: ReportRecord[]): { hash: string; record: Sale }[] {
  const voided = new Set(
    records.filter((r) => r.record.kind === 'void').map((r) => toHex((r.record as Void).target)),
  )
  return records.filter(isSale).filter((r) => !voided.has(r.hash))
}

function addRow(rows: Map<string, ReportRow>, key: string, label: string, amount: number, count = 1): void {
  const row = rows.get(key) ?? { key, label, amount: 0, count: 0 }
  row.amount += amount
  row.count += count
  rows.set(key, row)
}

export interface ReportOptions {
  asset: string
  productName: (id: string) => string
  deviceName: (deviceHex: string) => string
  /** Hour labels are local to the venue: the caller gives the offset (minutes east of UTC). */
  utcOffsetMinutes?: number
}

export function buildReport(records: ReportRecord[], o: ReportOptions): Report {
  const byHour = new Map<string, ReportRow>()
  const byProduct = new Map<string, ReportRow>()
  const byDevice = new Map<string, ReportRow>()
  const byMethod = new Map<string, ReportRow>()
  let totalSales = 0
  let saleCount = 0
  for (const { record } of effectiveSales(records)) {
    const lines = record.lines.filter((l) => l.asset === o.asset && l.product !== SPLIT_PRODUCT)
    const amount = lines.reduce((s, l) => s + l.unitPrice * l.quantity, 0)
    for (const p of record.payments) if (p.asset === o.asset) addRow(byMethod, p.method, p.method, p.amount)
    // The second half of a split payment has no product: its payment counts, not as a sale.
    if (lines.length === 0) continue
    totalSales += amount
    saleCount += 1
    const local = new Date(record.time + (o.utcOffsetMinutes ?? 0) * 60_000)
    const hour = `${String(local.getUTCHours()).padStart(2, '0')}h`
    addRow(byHour, hour, hour, amount)
    const device = toHex(record.device)
    addRow(byDevice, device, o.deviceName(device), amount)
    for (const l of lines)
      addRow(byProduct, l.product, o.productName(l.product), l.unitPrice * l.quantity, l.quantity)
  }
  const sorted = (m: Map<string, ReportRow>) => [...m.values()].sort((a, b) => b.amount - a.amount)
  return {
    asset: o.asset,
    totalSales,
    saleCount,
    byHour: [...byHour.values()].sort((a, b) => a.key.localeCompare(b.key)),
    byProduct: sorted(byProduct),
    byDevice: sorted(byDevice),
    byMethod: sorted(byMethod),
  }
}

/**
 * Cash a till should hold since its previous close-out: cash sales (net of cash paid back), cash top-ups,
 * minus cash refunds. Records are filtered to the devices in scope by the caller.
 */
export function expectedCash(records: ReportRecord[], asset: string): number {
  const sales = new Set(effectiveSales(records).map((r) => r.hash))
  let cash = 0
  for (const { hash, record } of records) {
    if (record.kind === 'sale' && sales.has(hash))
      for (const p of record.payments) if (p.method === 'cash' && p.asset === asset) cash += p.amount
    if (record.kind === 'top-up' && record.method === 'cash' && record.asset === asset) cash += record.amount
    if (record.kind === 'refund' && record.method === 'cash' && record.asset === asset) cash -= record.amount
  }
  return cash
}

/** Records of one device after its latest close-out (device chain order). */
export function sinceLastCloseOut(records: ReportRecord[], deviceHex: string): ReportRecord[] {
  const mine = records
    .filter((r) => toHex(r.record.device) === deviceHex)
    .sort((a, b) => a.record.deviceSeq - b.record.deviceSeq)
  const last = mine.findLastIndex((r) => r.record.kind === 'till-close-out')
  return mine.slice(last + 1)
}

export function lastCloseOut(records: ReportRecord[], deviceHex: string): TillCloseOut | undefined {
  const mine = records.filter(
    (r) => toHex(r.record.device) === deviceHex && r.record.kind === 'till-close-out',
  )
  return mine.sort((a, b) => b.record.deviceSeq - a.record.deviceSeq)[0]?.record as TillCloseOut | undefined
}

// ------------------------------------------------------------------------------------------- exports

const csvCell = (v: string | number) => {
  const s = String(v)
  return /[";\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}
const minor = (n: number, decimals = 2) => {
  const sign = n < 0 ? '-' : ''
  const abs = Math.abs(n)
  const unit = 10 ** decimals
  return decimals === 0
    ? `${sign}${abs}`
    : `${sign}${Math.floor(abs / unit)}.${String(abs % unit).padStart(decimals, '0')}`
}

/** One CSV row per sale line, payment, top-up and refund (semicolon-separated, as French spreadsheets expect). */
export function exportCsv(records: ReportRecord[], productName: (id: string) => string): string {
  const rows: (string | number)[][] = [
    ['time', 'record', 'device', 'kind', 'item', 'quantity', 'asset', 'amount', 'vat_bp'],
  ]
  const voided = new Set(
    records.filter((r) => r.record.kind === 'void').map((r) => toHex((r.record as Void).target)),
  )
  const sorted = [...records].sort((a, b) => a.record.time - b.record.time)
  for (const { hash, record: r } of sorted) {
    const base = [new Date(r.time).toISOString(), hash.slice(0, 16), toHex(r.device).slice(0, 16)]
    if (r.kind === 'sale') {
      const kind = voided.has(hash) ? 'sale-voided' : 'sale'
      for (const l of r.lines)
        rows.push([
          ...base,
          kind,
          productName(l.product),
          l.quantity,
          l.asset,
          minor(l.unitPrice * l.quantity),
          l.vatRate,
        ])
      for (const p of r.payments)
        rows.push([...base, `${kind}-payment`, p.method, 1, p.asset, minor(p.amount), ''])
    } else if (r.kind === 'top-up' || r.kind === 'refund') {
      const m = r as TopUp | Refund
      rows.push([...base, r.kind, m.method, 1, m.asset, minor(m.amount), ''])
    } else if (r.kind === 'void') rows.push([...base, 'void', toHex(r.target).slice(0, 16), 1, '', '', ''])
  }
  return `${rows.map((row) => row.map(csvCell).join(';')).join('\n')}\n`
}

const ACCOUNTS = {
  cash: ['530000', 'Caisse'],
  bankcard: ['512000', 'Banque (carte bancaire)'],
  card: ['419100', 'Avances clients (cashless)'],
  sales: ['706000', 'Prestations de services et ventes'],
  vat: ['445710', 'TVA collectée'],
} as const

/** Net amount of a VAT-inclusive price (integer minor units, rounded half up). */
export function netOfVat(gross: number, vatBp: number): number {
  return Math.round((gross * 10_000) / (10_000 + vatBp))
}

/**
 * FEC (Fichier des écritures comptables, art. A47 A-1 LPF): 18 tab-separated columns, one balanced entry per
 * sale, top-up and refund in euros. Cashless money is a liability (419) until spent; sales credit 706 net
 * and 44571 VAT per rate. Voided sales are not exported.
 */
export function exportFec(records: ReportRecord[], asset = 'EUR'): string {
  const header = [
    'JournalCode',
    'JournalLib',
    'EcritureNum',
    'EcritureDate',
    'CompteNum',
    'CompteLib',
    'CompAuxNum',
    'CompAuxLib',
    'PieceRef',
    'PieceDate',
    'EcritureLib',
    'Debit',
    'Credit',
    'EcritureLet',
    'DateLet',
    'ValidDate',
    'Montantdevise',
    'Idevise',
  ]
  const lines: string[] = [header.join('\t')]
  const day = (t: number) => new Date(t).toISOString().slice(0, 10).replace(/-/g, '')
  const amt = (n: number) => minor(n).replace('.', ',')
  let num = 0
  const entry = (t: number, ref: string, label: string, movements: [readonly [string, string], number][]) => {
    num += 1
    for (const [[account, accountLabel], signed] of movements) {
      if (signed === 0) continue
      const debit = signed > 0 ? amt(signed) : '0,00'
      const credit = signed < 0 ? amt(-signed) : '0,00'
      lines.push(
        [
          'VE',
          'Ventes',
          String(num),
          day(t),
          account,
          accountLabel,
          '',
          '',
          ref,
          day(t),
          label,
          debit,
          credit,
          '',
          '',
          day(t),
          '',
          '',
        ].join('\t'),
      )
    }
  }
  const sales = new Set(effectiveSales(records).map((r) => r.hash))
  const sorted = [...records].sort((a, b) => a.record.time - b.record.time)
  for (const { hash, record: r } of sorted) {
    const ref = hash.slice(0, 16)
    if (r.kind === 'sale' && sales.has(hash)) {
      const moves: [readonly [string, string], number][] = []
      for (const p of r.payments) if (p.asset === asset) moves.push([ACCOUNTS[p.method], p.amount])
      const byRate = new Map<number, number>()
      for (const l of r.lines)
        if (l.asset === asset && l.product !== SPLIT_PRODUCT)
          byRate.set(l.vatRate, (byRate.get(l.vatRate) ?? 0) + l.unitPrice * l.quantity)
      // Split lines (one payment spread over two cards) are a transfer between customer balances: 419.
      const split = r.lines.filter((l) => l.product === SPLIT_PRODUCT && l.asset === asset)
      for (const l of split) moves.push([ACCOUNTS.card, -l.unitPrice * l.quantity])
      for (const [rate, gross] of byRate) {
        const net = netOfVat(gross, rate)
        moves.push([ACCOUNTS.sales, -net], [ACCOUNTS.vat, -(gross - net)])
      }
      entry(r.time, ref, 'Vente', moves)
    } else if (
      (r.kind === 'top-up' || r.kind === 'refund') &&
      r.asset === asset &&
      r.method !== 'free' &&
      r.method !== 'online'
    ) {
      const sign = r.kind === 'top-up' ? 1 : -1
      entry(r.time, ref, r.kind === 'top-up' ? 'Rechargement cashless' : 'Remboursement cashless', [
        [ACCOUNTS[r.method], sign * r.amount],
        [ACCOUNTS.card, -sign * r.amount],
      ])
    }
  }
  return `${lines.join('\n')}\n`
}
