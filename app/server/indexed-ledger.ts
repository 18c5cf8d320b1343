// The views the app needs, over the ledger's LedgerIndex (ledger/mod.ts): card state, trust facts and the
// list of valid records for reports. Both backends feed it every signed record and statement they see.
import {
  type AssetDefinition,
  type CardId,
  decodeSigned,
  fromHex,
  type IngestResult,
  LedgerIndex,
  type LedgerRecord,
  toHex,
  ZERO_HASH,
} from '../../ledger/mod.ts'
import type { CardState } from './ledger-backend.ts'
import type { ReportRecord } from './reports.ts'

const latin1 = (bytes: Uint8Array) => String.fromCharCode(...bytes)

/**
 * The ledger's LedgerIndex, also keeping each record it is fed (decoded), so reports can list the valid
 * ones: the index owns validity, this class only remembers what it saw. The venue node feeds it directly.
 */
export class RecordingIndex extends LedgerIndex {
  readonly decoded = new Map<string, LedgerRecord>()
  /** Bumped on every batch: views cached by callers are stale when it moved. */
  version = 0
  onIngested: ((batch: Uint8Array[]) => void) | undefined

  override async ingestMany(batch: Uint8Array[]): Promise<IngestResult[]> {
    const results = await super.ingestMany(batch)
    results.forEach((r, i) => {
      if (r.type === 'record' && !this.decoded.has(r.hash)) {
        const d = decodeSigned(batch[i]!)
        if (d.type === 'record') this.decoded.set(r.hash, d.record)
      }
      if (r.status === 'rejected')
        console.warn(`ledger: rejected ${r.hash.slice(0, 16)}: ${r.error?.message}`)
    })
    this.version++
    this.onIngested?.(batch)
    return results
  }
}

export class IndexedLedger {
  private validCache: { version: number; list: ReportRecord[] } | undefined

  constructor(readonly index: RecordingIndex) {}

  ingest(bytes: Uint8Array): Promise<IngestResult> {
    return this.index.ingest(bytes)
  }

  async ingestMany(batch: Uint8Array[]): Promise<void> {
    await this.index.ingestMany(batch)
  }

  /** Valid records only; a record turning valid later (its predecessor arrived) shows up then. */
  records(): ReportRecord[] {
    if (this.validCache?.version !== this.index.version)
      this.validCache = {
        version: this.index.version,
        list: [...this.index.decoded]
          .filter(([hash]) => this.index.status(hash) === 'valid')
          .map(([hash, record]) => ({ hash, record })),
      }
    return this.validCache.list
  }

  card(card: CardId): CardState {
    const view = this.index.card(card)
    const next = this.index.nextChainPosition(card)
    const balances = new Map(this.index.balances(card).map((b) => [b.asset, b.amount]))
    const frozen = view?.frozen ? (view.replacedBy.length > 0 ? 'lost' : 'fork') : undefined
    return {
      cardSeq: next ? next.cardSeq - 1 : (view?.cardSeq ?? 0),
      head: next ? next.cardPrev : view?.head ? fromHex(view.head) : ZERO_HASH,
      balances,
      ...(frozen ? { frozen } : {}),
    }
  }

  assets(): AssetDefinition[] {
    return [...this.index.trustState().assets.values()]
  }

  isStaff(card: CardId): boolean {
    const suffix = latin1(card)
    for (const key of this.index.trustState().staff) if (key.endsWith(suffix)) return true
    return false
  }

  deviceLabel(deviceHex: string): string | undefined {
    const device = this.index.trustState().devices.get(latin1(fromHex(deviceHex)))
    return device ? toHex(device.device).slice(0, 8) : undefined
  }
}
