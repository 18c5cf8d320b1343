// LedgerBackend over the venue node (sync/node): records go through node.appendRecord (signed with the
// device key from the data dir, resolved once on disk, then pushed to peers); every record and statement
// the node sees, its own or synced, feeds the ledger's LedgerIndex. "Cutting the network" closes every
// libp2p connection and refuses new ones until restored, so the till really runs with no peer.
import { type AutomergeUrl, cbor } from '@automerge/automerge-repo/slim'
import { multiaddr } from '@multiformats/multiaddr'
import {
  type AssetDefinition,
  type CardId,
  type CardSigner,
  decodeSigned,
  fromHex,
  type RecordBody,
  type SignedRecord,
  signTagState,
  type TagCardState,
  toHex,
  verifyTagState,
} from '../../ledger/mod.ts'
import { encodeCredentialBundle } from '../../sync/node/credentials.ts'
import { createVenueNode, type LedgerReady, type VenueNode } from '../../sync/node/venue-node.ts'
import type { SyncStatus } from '../shared/protocol.ts'
import { type EnrollmentPackage, exportDocs } from './enrollment.ts'
import { IndexedLedger } from './indexed-ledger.ts'
import type { CardState, LedgerBackend } from './ledger-backend.ts'
import { nextRecord, preflightOrThrow } from './record-preflight.ts'
import type { ReportRecord } from './reports.ts'
import type { TagStateCodec } from './sim-card-reader.ts'
import type { ConfigSection, VenueConfigPort } from './synced-catalog.ts'

export interface NodeBackendOptions {
  dataDir: string
  deviceLabel: string
  venueName: string
  /** Multiaddrs (with /p2p/<id>) of peers to dial at start and after the network is restored. */
  peers?: string[]
  listen?: string[]
  mdns?: boolean
  log?: (line: string) => void
}

export class NodeLedgerBackend implements LedgerBackend {
  deviceId = ''
  readonly deviceLabel: string
  readonly venueName: string
  private node: VenueNode | undefined
  private ledger: IndexedLedger | undefined
  private online = true
  /** How the node's ledger index came back at the last start (fresh, snapshot or rebuild). */
  ledgerReady: LedgerReady | undefined
  private readonly peers: Set<string>
  private readonly labels = new Map<string, string>()
  private readonly listeners = new Set<(what: 'records' | 'status') => void>()
  private redial: ReturnType<typeof setInterval> | undefined
  private appending: Promise<unknown> = Promise.resolve()

  constructor(private readonly o: NodeBackendOptions) {
    this.deviceLabel = o.deviceLabel
    this.venueName = o.venueName
    this.peers = new Set(o.peers ?? [])
  }

  /** Tag card states: verified by the ledger, signed with this device's key (kept in the node). */
  readonly tagCodec: TagStateCodec<TagCardState> = {
    verify: (bytes) => verifyTagState(bytes, this.ready.ledger.index),
    sign: async (state) => (await signTagState({ ...state, time: Date.now() }, this.ready.node.device)).bytes,
  }

  /** Publishes a signed statement in the federation or venue document (synced to every peer) and indexes it. */
  async publishStatement(doc: 'federation' | 'venue', bytes: Uint8Array): Promise<void> {
    const { node, ledger } = this.ready
    const url = doc === 'federation' ? node.config.federationUrl : node.config.venueUrl
    if (!url) throw new Error(`this node has no ${doc} document`)
    const handle = await node.repo.find<{ entries: Uint8Array[] }>(url as AutomergeUrl)
    await node.layout.addEntry(handle as never, bytes)
    await ledger.ingest(bytes)
  }

  /** What a newly certified device needs to start: config with its credential bundle, documents, peers. */
  async enrollmentPackage(certificate: Uint8Array, roles: string[]): Promise<EnrollmentPackage> {
    const { node } = this.ready
    const c = node.config
    if (!c.venueUrl || !c.venueId) throw new Error('this node has no venue')
    const [, admission] = cbor.decode(fromHex(c.bundle)) as Uint8Array[]
    const venue = await node.repo.find<{ personal?: unknown }>(c.venueUrl as AutomergeUrl)
    const urls = [c.federationUrl, c.venueUrl, String(venue.doc().personal ?? '')].filter((u) =>
      u.startsWith('automerge:'),
    )
    return {
      config: {
        v: 1,
        federationKey: c.federationKey,
        federationUrl: c.federationUrl,
        venueId: c.venueId,
        venueUrl: c.venueUrl,
        bundle: toHex(encodeCredentialBundle(certificate, admission)),
        roles,
      },
      docs: await exportDocs(node.repo, urls),
      peers: node.addresses(),
    }
  }

  /** The venue's signed configuration (catalog, plans, agenda, printer routes), once started. */
  readonly venueConfig: VenueConfigPort = {
    sections: () => {
      const out: Partial<Record<ConfigSection, Uint8Array>> = {}
      for (const [s, e] of Object.entries(this.ready.node.venueConfig().sections))
        out[s as ConfigSection] = e.payload
      return out
    },
    append: async (section, payload) => {
      await this.ready.node.appendConfig(section, payload)
    },
    onChange: (listener) => {
      const wrapped = () => listener()
      this.configListeners.add(wrapped)
      return () => this.configListeners.delete(wrapped)
    },
  }
  private readonly configListeners = new Set<() => void>()

  /** The node's own dialable addresses (to give to a second till). */
  addresses(): string[] {
    return this.node?.addresses() ?? []
  }

  async start(): Promise<void> {
    const notify = (what: 'records' | 'status') => {
      for (const l of this.listeners) l(what)
    }
    // The node owns its ledger index: restored from its local snapshot after a restart (no signature
    // checked again), rebuilt from the documents on disk only without a usable one.
    const node = await createVenueNode({
      dataDir: this.o.dataDir,
      listen: this.o.listen ?? ['/ip4/127.0.0.1/tcp/0'],
      mdns: this.o.mdns ?? false,
      ...(this.o.log ? { log: this.o.log } : {}),
    })
    const ledger = new IndexedLedger(node.ledger)
    this.ledger = ledger
    // Device labels come from the certificates: those already held (a restored index replays none),
    // then each new one the node accepts.
    const learnLabel = (bytes: Uint8Array) => {
      const d = decodeSigned(bytes)
      if (d.type === 'statement' && d.statement.kind === 'device-certificate')
        this.labels.set(toHex(d.statement.device), d.statement.label)
    }
    const nodeOnStatement = node.sink.onStatement
    node.sink.onStatement = (bytes) => {
      nodeOnStatement?.(bytes)
      learnLabel(bytes)
    }
    node.on('record', () => {
      ledger.changed()
      notify('records')
    })
    // Selling waits until the index holds every record on disk.
    this.ledgerReady = await node.ledgerReady
    await node.idle()
    for (const url of [node.config.federationUrl, node.config.venueUrl]) {
      if (!url) continue
      const handle = await node.repo.find<{ entries?: Uint8Array[] }>(url as AutomergeUrl)
      for (const bytes of handle.doc().entries ?? []) {
        try {
          learnLabel(bytes)
        } catch {
          // a malformed entry is the node's to report; it carries no label
        }
      }
    }
    // The node re-judges the venue config once its ledger is ready, without waiting: wait for it here.
    await node.refreshConfig()
    node.on('config:changed', () => {
      for (const l of this.configListeners) l()
    })
    this.node = node
    this.deviceId = toHex(node.device.publicKey)
    node.on('peer:status', (s) => {
      // A peer that reached us is worth redialling after a network cut.
      if (s.connected)
        for (const c of node.network.host.getConnections()) this.peers.add(c.remoteAddr.toString())
      notify('status')
    })
    node.network.host.addEventListener('connection:open', (e) => {
      if (!this.online) void e.detail.close().catch(() => undefined)
    })
    await this.dialPeers()
    this.redial = setInterval(() => void this.dialPeers(), 3000)
  }

  private async dialPeers(): Promise<void> {
    const node = this.node
    if (!node || !this.online) return
    const connected = new Set(node.network.host.getConnections().map((c) => c.remotePeer.toString()))
    for (const addr of this.peers) {
      const id = addr.split('/p2p/')[1]
      if (!id || connected.has(id)) continue
      await node.network.host.dial(multiaddr(addr)).catch(() => undefined)
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.redial)
    await this.node?.stop()
    this.node = undefined
  }

  private get ready(): { node: VenueNode; ledger: IndexedLedger } {
    if (!this.node || !this.ledger) throw new Error('node backend not started')
    return { node: this.node, ledger: this.ledger }
  }

  append(body: RecordBody, cards: CardSigner[], staff: CardId): Promise<SignedRecord> {
    // One at a time: the record preflighted is the one the node's device chain signs next.
    const run = this.appending.then(() => this.appendNow(body, cards, staff))
    this.appending = run.catch(() => undefined)
    return run
  }

  private async appendNow(body: RecordBody, cards: CardSigner[], staff: CardId): Promise<SignedRecord> {
    const { node, ledger } = this.ready
    const head = node.deviceHead()
    let time = body.time
    if (head) {
      // nothing is signed (no card counter moves) unless the ledger would accept the record now
      const record = nextRecord(body, { device: node.device.publicKey, ...head, staff })
      preflightOrThrow(ledger.index, record)
      time = record.time
    }
    const r = await node.appendRecord({ ...body, staff, time } as RecordBody, cards)
    // The node hands its own records to the index too; ingesting here (a duplicate later) makes the
    // views current before the till answers.
    await ledger.ingest(r.bytes)
    const d = decodeSigned(r.bytes)
    if (d.type !== 'record') throw new TypeError('appendRecord returned a statement')
    return { bytes: r.bytes, hash: r.hash, record: d.record }
  }

  records(): ReportRecord[] {
    return this.ready.ledger.records()
  }

  card(card: CardId): CardState {
    return this.ready.ledger.card(card)
  }

  assets(): AssetDefinition[] {
    return this.ready.ledger.assets()
  }

  staffLabel(card: CardId): string | undefined {
    return this.ready.ledger.isStaff(card) ? 'staff' : undefined
  }

  deviceLabelOf(deviceHex: string): string {
    return this.labels.get(deviceHex) ?? deviceHex.slice(0, 8)
  }

  status(): SyncStatus {
    if (!this.node || !this.ledger)
      return { online: false, networkCut: !this.online, peers: [], records: 0, pending: -1 }
    const s = this.node.status()
    return {
      online: this.online && s.online,
      networkCut: !this.online,
      peers: s.peers.map((p) => ({
        peerId: p.peerId,
        name: p.principal
          ? (this.labels.get(toHex(p.principal.devicePublicKey)) ?? p.principal.role ?? 'peer')
          : 'peer',
        connected: p.connected && p.authenticated,
      })),
      records: this.ledger.records().length,
      pending: s.summary.behind,
    }
  }

  async setOnline(online: boolean): Promise<void> {
    this.online = online
    const node = this.node
    if (node && !online)
      await Promise.all(node.network.host.getConnections().map((c) => c.close().catch(() => undefined)))
    if (online) await this.dialPeers()
    for (const l of this.listeners) l('status')
  }

  onChange(listener: (what: 'records' | 'status') => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}
