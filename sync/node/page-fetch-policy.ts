// A ledger page this node does not hold yet is asked of one peer, not of all. automerge-repo sends its
// request for a document to every peer its share policy announces the document to, and every peer holding
// the page answers with all of it: a fresh till that dialled three tills got each of the 200 pages of a
// 200k-record history three times (three times the serving CPU on the peers, every change applied three
// times here). Each page goes to the least-asked peer; the others are asked too only if that peer has not
// delivered the page within `fallbackMs` (it lacks it, or it is gone): `expire()` opens such pages and
// the caller has automerge-repo re-evaluate its share policy.
// A full page this node holds and has indexed is not announced at all: it never changes again, a peer
// that lacks it asks for it (and is answered: `access` is unchanged), and a peer holding an older copy
// announces it to us. Announcing it made every peer load the page from disk to compare heads, which cost
// the peers as much as serving it (measured: the same serving CPU with one peer asked).
// Everything else is announced as before.
import type { DocumentId, PeerId as RepoPeerId } from '@automerge/automerge-repo'

export interface PageFetchPolicyOptions {
  /** The base rule: may this peer be announced this document at all? */
  allowed(peer: RepoPeerId, documentId: DocumentId): Promise<boolean>
  /** Is this a ledger page this node neither holds nor has indexed (so it can only come from a peer)? */
  isPageToFetch(documentId: DocumentId): boolean
  /** Is this a full ledger page this node holds and has indexed? */
  isCompletePage(documentId: DocumentId): boolean
  /** The repo peers connected now. */
  peers(): RepoPeerId[]
  fallbackMs?: number
  now?: () => number
}

export class PageFetchPolicy {
  readonly #o: PageFetchPolicyOptions
  readonly #fallbackMs: number
  readonly #now: () => number
  readonly #chosen = new Map<DocumentId, { peer: RepoPeerId; since: number }>()
  readonly #open = new Set<DocumentId>()
  readonly #asked = new Map<RepoPeerId, number>()

  constructor(options: PageFetchPolicyOptions) {
    this.#o = options
    this.#fallbackMs = options.fallbackMs ?? 5_000
    this.#now = options.now ?? (() => performance.now())
  }

  /** automerge-repo's `announce`: the base rule, narrowed to one peer for a page still to fetch. */
  async announce(peer: RepoPeerId, documentId: DocumentId): Promise<boolean> {
    if (!(await this.#o.allowed(peer, documentId)) || this.#o.isCompletePage(documentId)) return false
    if (this.#open.has(documentId) || !this.#o.isPageToFetch(documentId)) {
      this.#chosen.delete(documentId)
      return true
    }
    let chosen = this.#chosen.get(documentId)
    if (!chosen || !this.#o.peers().includes(chosen.peer)) {
      const pick = await this.#leastAsked(documentId)
      // no peer may be asked: nothing to narrow
      if (!pick) return true
      // another evaluation may have chosen while this one awaited
      chosen = this.#chosen.get(documentId)
      if (!chosen || !this.#o.peers().includes(chosen.peer)) {
        chosen = { peer: pick, since: this.#now() }
        this.#chosen.set(documentId, chosen)
        this.#asked.set(pick, (this.#asked.get(pick) ?? 0) + 1)
      }
    }
    return chosen.peer === peer
  }

  /**
   * Pages whose chosen peer has not delivered them within the fallback time become open to every peer;
   * pages now held are forgotten. True when any page was opened (re-evaluate the share policy then).
   */
  expire(): boolean {
    const now = this.#now()
    let opened = false
    for (const [id, c] of this.#chosen) {
      if (!this.#o.isPageToFetch(id)) this.#chosen.delete(id)
      else if (now - c.since >= this.#fallbackMs) {
        this.#chosen.delete(id)
        this.#open.add(id)
        opened = true
      }
    }
    for (const id of this.#open) if (!this.#o.isPageToFetch(id)) this.#open.delete(id)
    return opened
  }

  /** Pages waiting on one chosen peer (for tests and status). */
  get narrowed(): number {
    return this.#chosen.size
  }

  async #leastAsked(documentId: DocumentId): Promise<RepoPeerId | undefined> {
    let best: RepoPeerId | undefined
    for (const p of this.#o.peers()) {
      if (!(await this.#o.allowed(p, documentId))) continue
      if (best === undefined || (this.#asked.get(p) ?? 0) < (this.#asked.get(best) ?? 0)) best = p
    }
    return best
  }
}
