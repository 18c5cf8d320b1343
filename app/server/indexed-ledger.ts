// The views the app needs, over the ledger's LedgerIndex (ledger/mod.ts) through its public accessors:
// card state, trust facts and the list of valid records for reports. The index is either the venue
// node's own (restored from its local snapshot on restart) or the local backend's.
import {
  type AssetDefinition,
  type CardId,
  fromHex,
  type IngestResult,
  type LedgerIndex,
  toHex,
  ZERO_HASH,
} from '../../ledger/mod.ts'
import type { CardState } from './ledger-backend.ts'
import type { ReportRecord } from './reports.ts'

export class IndexedLedger {
  private version = 0
  private validCache: { version: number; valid: number; list: ReportRecord[] } | undefined

  constructor(readonly index: LedgerIndex) {}

  /** Marks cached views stale: call when the index was fed by someone else (the node's feed). */
  changed(): void {
    this.version++
  }

  async ingest(bytes: Uint8Array): Promise<IngestResult> {
    const r = await this.index.ingest(bytes)
    this.version++
    if (r.status === 'rejected') console.warn(`ledger: rejected ${r.hash.slice(0, 16)}: ${r.error?.message}`)
    return r
  }

  async ingestMany(batch: Uint8Array[]): Promise<void> {
    await this.index.ingestMany(batch)
    this.version++
  }

  /**
   * Valid records only (device, then deviceSeq order); a record turning valid later (its predecessor
   * arrived) shows up then. Cached until the index changes: the valid count guards against a feed the
   * caller did not announce.
   */
  records(): ReportRecord[] {
    const valid = this.index.counts().valid
    if (this.validCache?.version !== this.version || this.validCache.valid !== valid)
      this.validCache = {
        version: this.version,
        valid,
        list: [...this.index.validRecords()].map(({ hash, record }) => ({ hash, record })),
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
    return this.index.assetDefinitions()
  }

  /** A staff card certified by any admitted venue. */
  isStaff(card: CardId): boolean {
    return this.index.venues().some((v) => this.index.isStaffCard(fromHex(v.venue), card))
  }

  deviceLabel(deviceHex: string): string | undefined {
    const device = this.index.deviceAuthority(fromHex(deviceHex))
    return device ? toHex(device.device).slice(0, 8) : undefined
  }
}
