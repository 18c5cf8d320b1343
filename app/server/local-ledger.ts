// LedgerBackend for one device without peers: signed records in an append-only file (length-prefixed,
// fsync before the append resolves), views rebuilt from the file at start. Used by the embedded demo
// when no venue node is configured, and by the service tests. Statements (certificates, assets, staff
// cards) come from the caller (the demo federation fixture).
import { mkdir, open, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { bytesEqual, keyOf, toHex } from '../../ledger/bytes.ts'
import { decodeSigned } from '../../ledger/codec.ts'
import type { KeyPair } from '../../ledger/crypto.ts'
import { type CardSigner, DeviceChainWriter, type SignedRecord, verifySignatures } from '../../ledger/sign.ts'
import { buildTrust, type TrustState } from '../../ledger/trust.ts'
import type { AssetDefinition, CardId, LedgerRecord, PublicKey, RecordBody } from '../../ledger/types.ts'
import type { SyncStatus } from '../shared/protocol.ts'
import { CardViews } from './card-views.ts'
import { LedgerRejectedError } from './errors.ts'
import type { CardState, LedgerBackend } from './ledger-backend.ts'
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
  private readonly trust: TrustState
  private readonly views = new CardViews()
  private readonly list: ReportRecord[] = []
  private readonly hashes = new Set<string>()
  private readonly listeners = new Set<(what: 'records' | 'status') => void>()
  private writer: DeviceChainWriter | undefined
  private file: import('node:fs/promises').FileHandle | undefined
  private queue: Promise<unknown> = Promise.resolve()
  private online = false

  constructor(private readonly o: LocalLedgerOptions) {
    this.deviceId = toHex(o.device.publicKey)
    this.deviceLabel = o.deviceLabel
    this.venueName = o.venueName
    const entries = o.statements.map((bytes) => {
      const d = decodeSigned(bytes)
      if (d.type !== 'statement') throw new TypeError('statements must be signed statements')
      return { key: keyOf(d.hash), statement: d.statement }
    })
    this.trust = buildTrust(o.federationKeys, entries)
  }

  private get path(): string {
    return join(this.o.dataDir, 'records.bin')
  }

  async start(): Promise<void> {
    await mkdir(this.o.dataDir, { recursive: true })
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
      const signed = await writer.append(body, cards)
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

  /** Checks signatures and certificate, then feeds the views. Invalid records are reported, not used. */
  private async accept(bytes: Uint8Array): Promise<{ record: LedgerRecord; hash: Uint8Array } | undefined> {
    const d = decodeSigned(bytes)
    if (d.type !== 'record') return undefined
    const hash = toHex(d.hash)
    if (this.hashes.has(hash)) return { record: d.record, hash: d.hash }
    if (!(await verifySignatures(bytes)) || !this.trust.devices.has(keyOf(d.record.device))) {
      console.warn(`ledger: ignoring invalid record ${hash.slice(0, 16)}`)
      return undefined
    }
    this.hashes.add(hash)
    this.list.push({ hash, record: d.record })
    this.views.apply(hash, d.record)
    return { record: d.record, hash: d.hash }
  }

  records(): ReportRecord[] {
    return this.list
  }

  card(card: CardId): CardState {
    return this.views.card(card)
  }

  assets(): AssetDefinition[] {
    return [...this.trust.assets.values()]
  }

  staffLabel(card: CardId): string | undefined {
    for (const key of this.trust.staff) if (key.endsWith(keyOf(card))) return 'staff'
    return undefined
  }

  deviceLabelOf(deviceHex: string): string {
    return deviceHex === this.deviceId ? this.deviceLabel : deviceHex.slice(0, 8)
  }

  status(): SyncStatus {
    return { online: this.online, peers: [], records: this.list.length, pending: -1 }
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
