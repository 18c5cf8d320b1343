// A new link syncs only the documents that changed since the peer last reported its heads.
//
// automerge-repo starts a sync of every document it shares with a peer each time that peer connects: one
// message each way per document even when nothing changed (its sync state round-trips through its encoding
// and drops what the peer is known to have). At a festival heal every till re-links to ~4 peers, each link
// over the federation, the venue and ~60 partial ledger pages; with link churn that was most of a till's
// CPU after a heal (bench/reconnect.ts: 2.5 ms per document per side for a message saying "same heads").
//
// The repo remembers, per loaded document, the heads each peer (by storage id) last reported in a sync
// message (`DocHandle.getSyncInfo`). A document whose heads here are exactly those is not announced to that
// peer when a link starts. Correct because heads only grow: if ours equal what the peer reported and the
// peer's equal what we reported, the two are the same; if the peer moved since, its own copy of this rule
// announces the document and the sync starts from its side (a message for a document makes the repo sync
// it with the sender). A process that restarted remembers nothing and announces everything, so a peer that
// lost unsaved changes in a crash is re-synced from its side. A peer without a storage id (no sync info
// kept) is announced everything, as before.
//
// The first link between two nodes (or the first since either restarted) has no sync info: each hello then
// carries the heads of the documents its sender holds (`digest()`, a sync/net hello attachment), read
// before the peer counts as authenticated, so before the repo starts any sync with it (`declared()`). Heads
// a peer declared are a state it had: the same argument holds (ours equal its past state, its equal ours).
// Each hello replaces what the peer declared before (a restarted peer's lost changes are not assumed).
//
// A document skipped at link start is not in its synchronizer's peer list, so its later changes would not
// reach that peer: `watch()` follows every loaded handle's heads and starts the sync of a changed document
// with each connected peer that is not syncing it (and may hold it).
import {
  cbor,
  type DocHandle,
  type DocumentId,
  type Repo,
  type PeerId as RepoPeerId,
} from '@automerge/automerge-repo'

/** Hello attachments larger than this are cut short (documents left out are announced as before). */
export const DIGEST_MAX_BYTES = 8 * 1024
/** Peers whose declared heads are kept (oldest forgotten first). */
const MAX_DECLARING_PEERS = 1024

export class LinkResync {
  readonly #repo: Repo
  readonly #watched = new WeakSet<DocHandle<unknown>>()
  readonly #changed = new Set<DocumentId>()
  /** Encoded heads per document state (a doc object is immutable: its heads never change). */
  readonly #heads = new WeakMap<object, string[]>()
  /** Heads each peer declared in its last hello, per document. */
  readonly #declared = new Map<string, Map<string, string[]>>()
  #flushQueued = false
  #mayAnnounce: (peer: RepoPeerId, documentId: DocumentId) => Promise<boolean>
  /** Documents not announced to a peer at link start because it already had them (counted; for benches). */
  skipped = 0
  /** Syncs started by a change of a document that a linked peer was not syncing. */
  started = 0

  /** `mayAnnounce`: the share rule without this one (may this peer be announced this doc at all?). */
  constructor(repo: Repo, mayAnnounce: (peer: RepoPeerId, documentId: DocumentId) => Promise<boolean>) {
    this.#repo = repo
    this.#mayAnnounce = mayAnnounce
  }

  /**
   * Does `peer` already hold exactly this node's copy of the document (the heads it last reported in a
   * sync message, or declared in its hello)?
   */
  peerHasOurs(peer: RepoPeerId, documentId: DocumentId): boolean {
    const handle = this.#repo.handles[documentId]
    if (!handle?.isReady()) return false
    const storageId = this.#repo.getStorageIdOfPeer(peer)
    const reported = storageId ? handle.getSyncInfo(storageId)?.lastHeads : undefined
    const declared = this.#declared.get(peer)?.get(documentId)
    if (!reported && !declared) return false
    const ours = this.#headsOf(handle)
    const same = (theirs: readonly string[] | undefined) =>
      theirs !== undefined && ours.length === theirs.length && ours.every((h) => theirs.includes(h))
    return same(reported) || same(declared)
  }

  /**
   * What this node's hello carries: [documentId, heads] of every ready document it holds, as many as fit in
   * DIGEST_MAX_BYTES (the rest are simply announced on the new link).
   */
  digest(): Uint8Array {
    const entries: Array<[string, string[]]> = []
    let size = 0
    for (const handle of Object.values(this.#repo.handles)) {
      if (!handle.isReady()) continue
      const heads = this.#headsOf(handle)
      const bytes = handle.documentId.length + heads.reduce((n, h) => n + h.length + 2, 6)
      if (size + bytes > DIGEST_MAX_BYTES) break
      size += bytes
      entries.push([handle.documentId, heads])
    }
    return cbor.encode(entries)
  }

  // handle.heads() encodes every head (base58check: two SHA-256 each); the share rule asks per peer and doc
  #headsOf(handle: DocHandle<unknown>): string[] {
    const doc = handle.doc() as object
    let heads = this.#heads.get(doc)
    if (!heads) {
      heads = handle.heads()
      this.#heads.set(doc, heads)
    }
    return heads
  }

  /** A peer's hello attachment (replaces what it declared before; none or malformed: nothing declared). */
  declared(peer: string, bytes: Uint8Array | undefined): void {
    this.#declared.delete(peer)
    if (!bytes) return
    const heads = new Map<string, string[]>()
    let value: unknown
    try {
      value = cbor.decode(bytes)
    } catch {
      return
    }
    if (!Array.isArray(value)) return
    for (const entry of value) {
      if (!Array.isArray(entry) || entry.length !== 2) return
      const [id, hs] = entry as [unknown, unknown]
      if (typeof id !== 'string' || !Array.isArray(hs) || !hs.every((h) => typeof h === 'string')) return
      heads.set(id, hs as string[])
    }
    this.#declared.set(peer, heads)
    if (this.#declared.size > MAX_DECLARING_PEERS)
      this.#declared.delete(this.#declared.keys().next().value as string)
  }

  /** automerge-repo's `announce`: the base rule, minus documents the peer already holds as they are here. */
  async announce(peer: RepoPeerId, documentId: DocumentId): Promise<boolean> {
    if (this.peerHasOurs(peer, documentId)) {
      this.skipped++
      return false
    }
    return this.#mayAnnounce(peer, documentId)
  }

  /**
   * Follows the heads of every handle the repo holds (new handles are picked up by each call: call it
   * every second or so). A handle created since the last call needs no watching yet: a new handle is
   * announced to every peer when it is registered (no sync info, so nothing is skipped).
   */
  watch(): void {
    for (const handle of Object.values(this.#repo.handles)) {
      if (this.#watched.has(handle)) continue
      this.#watched.add(handle)
      handle.on('heads-changed', () => this.#onChange(handle.documentId))
    }
  }

  #onChange(documentId: DocumentId): void {
    this.#changed.add(documentId)
    if (this.#flushQueued) return
    this.#flushQueued = true
    queueMicrotask(() => {
      this.#flushQueued = false
      const ids = [...this.#changed]
      this.#changed.clear()
      for (const id of ids) void this.#syncChanged(id)
    })
  }

  async #syncChanged(documentId: DocumentId): Promise<void> {
    const sync = this.#repo.synchronizer.docSynchronizers[documentId]
    if (!sync) return
    for (const peer of this.#repo.peers) {
      if (sync.hasPeer(peer) || this.peerHasOurs(peer, documentId)) continue
      if (!(await this.#mayAnnounce(peer, documentId).catch(() => false))) continue
      // the link may have gone, or a message from the peer begun the sync, while the rule was asked
      if (!this.#repo.peers.includes(peer) || sync.hasPeer(peer)) continue
      this.started++
      void sync.beginSync([peer])
    }
  }
}
