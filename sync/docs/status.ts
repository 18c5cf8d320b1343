// Sync status per document, for progress bars: how many records of each ledger page this node has indexed,
// and the most any peer says exists (from the direct push and the "have" announcements, see push.ts).
// Behind = known - indexed. Events are coalesced per page so a catch-up does not flood the app.
import type { DocumentId } from '@automerge/automerge-repo/slim'
import { EventEmitter } from 'eventemitter3'

export interface DocSyncStatus {
  documentId: DocumentId
  venueId: string
  deviceId: string
  page: number
  /** Records of this page validated into the local index. */
  indexed: number
  /** Largest record count any peer has announced for this page (at least `indexed`). */
  known: number
  /** known - indexed: how far behind this node is on this page. */
  behind: number
}

export interface SyncSummary {
  pages: number
  indexed: number
  known: number
  behind: number
  /** True when no page is behind. */
  inSync: boolean
}

export interface DocStatusEvents {
  'doc:status': (s: DocSyncStatus) => void
}

export class DocStatusBoard extends EventEmitter<DocStatusEvents> {
  readonly #docs = new Map<DocumentId, DocSyncStatus>()
  readonly #dirty = new Set<DocumentId>()
  #timer: ReturnType<typeof setTimeout> | undefined
  readonly #coalesceMs: number

  constructor(options: { coalesceMs?: number } = {}) {
    super()
    this.#coalesceMs = options.coalesceMs ?? 50
  }

  #entry(id: DocumentId, meta?: { venueId: string; deviceId: string; page: number }): DocSyncStatus {
    let s = this.#docs.get(id)
    if (!s) {
      s = { documentId: id, venueId: '', deviceId: '', page: 0, indexed: 0, known: 0, behind: 0 }
      this.#docs.set(id, s)
    }
    if (meta) Object.assign(s, meta)
    return s
  }

  /** The local index reached `indexed` records on this page. */
  indexed(id: DocumentId, meta: { venueId: string; deviceId: string; page: number; indexed: number }): void {
    const s = this.#entry(id, meta)
    s.indexed = Math.max(s.indexed, meta.indexed)
    this.#update(s)
  }

  /** A peer says this page holds at least `count` records. */
  known(id: DocumentId, count: number): void {
    const s = this.#entry(id)
    if (count <= s.known) return
    s.known = count
    this.#update(s)
  }

  #update(s: DocSyncStatus): void {
    s.known = Math.max(s.known, s.indexed)
    s.behind = s.known - s.indexed
    this.#dirty.add(s.documentId)
    this.#timer ??= setTimeout(() => this.#flush(), this.#coalesceMs)
  }

  #flush(): void {
    this.#timer = undefined
    for (const id of this.#dirty) {
      const s = this.#docs.get(id)
      if (s) this.emit('doc:status', { ...s })
    }
    this.#dirty.clear()
  }

  get(id: DocumentId): DocSyncStatus | undefined {
    const s = this.#docs.get(id)
    return s ? { ...s } : undefined
  }

  all(): DocSyncStatus[] {
    return [...this.#docs.values()].map((s) => ({ ...s }))
  }

  /** Record counts per page this node has indexed (what it announces to peers). */
  counts(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [id, s] of this.#docs) if (s.indexed > 0) out[id] = s.indexed
    return out
  }

  summary(): SyncSummary {
    let indexed = 0
    let known = 0
    for (const s of this.#docs.values()) {
      indexed += s.indexed
      known += s.known
    }
    return { pages: this.#docs.size, indexed, known, behind: known - indexed, inSync: known === indexed }
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
  }
}
