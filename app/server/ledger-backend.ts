// The boundary between the app service and the ledger + storage + sync underneath. The service only needs:
// append a record (resolves once it is on disk), the valid records, per-card state, trust facts and sync
// status. Two adapters implement it: LocalLedgerBackend (one device, records in an append-only file, no
// peers) and, when sync/node is present, the venue node (node-backend.ts).

import type { CardSigner, SignedRecord } from '../../ledger/sign.ts'
import type { AssetDefinition, CardId, Hash, LedgerRecord, RecordBody } from '../../ledger/types.ts'
import type { SyncStatus } from '../shared/protocol.ts'
import type { ReportRecord } from './reports.ts'

export interface CardState {
  cardSeq: number
  head: Hash
  balances: Map<string, number>
  /** Why the card is frozen (a fork in its chain, declared lost), or undefined. */
  frozen?: string
}

export interface LedgerBackend {
  /** This device's public key (hex) and label. */
  readonly deviceId: string
  readonly deviceLabel: string
  readonly venueName: string
  start(): Promise<void>
  stop(): Promise<void>
  /**
   * Signs (device + signing cards) and persists; resolves only after the record is durable. Refuses with
   * RecordRefusedError, before anything is signed, a record the ledger would not accept now.
   */
  append(body: RecordBody, cards: CardSigner[], staff: CardId): Promise<SignedRecord>
  /** Every valid record known to this node, from every device. */
  records(): ReportRecord[]
  card(card: CardId): CardState
  assets(): AssetDefinition[]
  /** Label of a staff card certified by this venue, or undefined. */
  staffLabel(card: CardId): string | undefined
  deviceLabelOf(deviceHex: string): string
  status(): SyncStatus
  /** Cuts or restores every peer connection (the demo's "network cable"). */
  setOnline(online: boolean): Promise<void>
  /** Called after records arrive (own or synced) and on sync status changes. */
  onChange(listener: (what: 'records' | 'status') => void): () => void
}

export type { LedgerRecord }
