// LedgerBackend for one device without peers: signed records in an append-only file (length-prefixed,
// fsync before the append resolves), views rebuilt from the file at start. Used by the embedded demo
// when no venue node is configured, and by the service tests. Statements (certificates, assets, staff
// cards) come from the caller (the demo federation fixture).
import { mkdir, open, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  type AssetDefinition,
  bytesEqual,
  type CardId,
  type CardSigner,
  DeviceChainWriter,
  decodeSigned,
  type KeyPair,
  LedgerIndex,
  type PublicKey,
  type RecordBody,
  type SignedRecord,
  toHex,
} from '../../ledger/mod.ts'
import type { SyncStatus } from '../shared/protocol.ts'
import { LedgerRejectedError } from './errors.ts'
import { IndexedLedger } from './indexed-ledger.ts'
import type { CardState, LedgerBackend, LedgerRecord } from './ledger-backend.ts'
import { nextRecord, preflightOrThrow } from './record-preflight.ts'
import type { ReportRecord } from './reports.ts'

export interface LocalLedgerOptions {
  dataDir: string
  device: KeyPair
  deviceLabel: string
  venueName: string
  federationKeys: PublicKey[]
  statements: Uint8Array[]
}

export class LocalLedgerBackend implements LedgerBackend {
  readonly deviceId: string
  readonly deviceLabel: string
  readonly venueName: string
  private readonly ledger: IndexedLedger
  private readonly listeners = new Set<(what: 'records' | 'status') => void>()
  private writer: DeviceChainWriter | undefined
  private file: import('node:fs/promises').FileHandle | undefined
  private queue: Promise<unknown> = Promise.resolve()
  private online = true

  constructor(private readonly o: LocalLedgerOptions) {
    this.deviceId = toHex(o.device.publicKey)
    this.deviceLabel = o.deviceLabel
    this.venueName = o.venueName
    this.ledger = new IndexedLedger(new LedgerIndex({ federation: o.federationKeys }))
  }

  private get path(): string {
    return join(this.o.dataDir, 'records.bin')
  }

  async start(): Promise<void> {
    await mkdir(this.o.dataDir, { recursive: true })
    await this.ledger.ingestMany(this.o.statements)
    const data = await readFile(this.path).catch(() => new Uint8Array(0))
    let offset = 0
    let own: { seq: number; head: Uint8Array } = { seq: 0, head: new Uint8Array(32) }
    while (offset + 4 <= data.length) {
      const len = new DataView(data.buffer, data.byteOffset + offset, 4).getUint32(0)
      if (offset + 4 + len > data.length) break // torn tail from a crash: ignored, never trusted
      const bytes = data.subarray(offset + 4, offset + 4 + len)
      offset += 4 + len
      const r = await this.accept(bytes)
      if (r && bytesEqual(r.record.device, this.o.device.publicKey) && r.record.deviceSeq > own.seq)
        own = { seq: r.record.deviceSeq, head: r.hash }
    }
    this.writer = new DeviceChainWriter(this.o.device, { deviceSeq: own.seq, head: own.head })
    this.file = await open(this.path, 'a')
  }

  async stop(): Promise<void> {
    await this.queue.catch(() => undefined)
    await this.file?.close()
    this.file = undefined
  }

  append(body: RecordBody, cards: CardSigner[], staff: CardId): Promise<SignedRecord> {
    // One append at a time: the device chain is sequential.
    const run = this.queue.then(async () => {
      const writer = this.writer
      const file = this.file
      if (!writer || !file) throw new Error('ledger backend not started')
      writer.staff = staff
      // nothing is signed (no card counter moves) unless the ledger would accept the record now
      const record = nextRecord(body, {
        device: writer.device.publicKey,
        deviceSeq: writer.deviceSeq,
        head: writer.head,
        staff,
      })
      preflightOrThrow(this.ledger.index, record)
      const signed = await writer.append({ ...body, time: record.time } as RecordBody, cards)
      const frame = new Uint8Array(4 + signed.bytes.length)
      new DataView(frame.buffer).setUint32(0, signed.bytes.length)
      frame.set(signed.bytes, 4)
      await file.write(frame)
      await file.sync()
      if (!(await this.accept(signed.bytes))) throw new LedgerRejectedError('own record rejected')
      for (const l of this.listeners) l('records')
      return signed
    })
    this.queue = run.catch(() => undefined)
    return run
  }

  /** Feeds the index; returns the decoded record when the index holds it as valid. */
  private async accept(bytes: Uint8Array): Promise<{ record: LedgerRecord; hash: Uint8Array } | undefined> {
    await this.ledger.ingest(bytes)
    const d = decodeSigned(bytes)
    if (d.type !== 'record' || this.ledger.index.status(d.hash) !== 'valid') return undefined
    return { record: d.record, hash: d.hash }
  }

  records(): ReportRecord[] {
    return this.ledger.records()
  }

  card(card: CardId): CardState {
    return this.ledger.card(card)
  }

  assets(): AssetDefinition[] {
    return this.ledger.assets()
  }

  staffLabel(card: CardId): string | undefined {
    return this.ledger.isStaff(card) ? 'staff' : undefined
  }

  deviceLabelOf(deviceHex: string): string {
    return deviceHex === this.deviceId
      ? this.deviceLabel
      : (this.ledger.deviceLabel(deviceHex) ?? deviceHex.slice(0, 8))
  }

  status(): SyncStatus {
    return {
      online: this.online,
      networkCut: !this.online,
      peers: [],
      records: this.ledger.records().length,
      pending: -1,
    }
  }

  async setOnline(online: boolean): Promise<void> {
    this.online = online
    for (const l of this.listeners) l('status')
  }

  onChange(listener: (what: 'records' | 'status') => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}
