// Which ledger pages a relay may serve whole (sync/node/page-transfer.ts). A till knows a page is full
// because its own ledger indexed it; a relay has no ledger. It uses the directory instead: a device opens
// page n + 1 only once page n holds its last record, so a page the directory names before another page of
// the same device is full. The relay then sends the page as stored on its disk; the till catching up checks
// it is exactly the full page it asked for (venue, device, number, every record) and falls back to the sync
// protocol otherwise, so a page the relay has not yet saved in full costs one refused answer, nothing more.
import type { DocumentId, Repo } from '@automerge/automerge-repo'
import { type DocClass, type FederationDoc, str, type VenueDoc } from '../sync/docs/mod.ts'

const idOf = (url: string): DocumentId => url.replace(/^automerge:/, '') as DocumentId

/** Is `documentId` page `cls.page` of its device in this venue directory, with a later page after it? */
export function fullByDirectory(
  documentId: DocumentId,
  cls: Extract<DocClass, { kind: 'ledger-page' }>,
  venue: Pick<VenueDoc, 'pages'> | undefined,
): boolean {
  const urls = venue?.pages?.[cls.deviceId]
  if (!urls || urls.length <= cls.page + 1) return false
  return idOf(str(urls[cls.page])) === documentId
}

/**
 * The relay's `completePage` rule over the documents it holds: `classify` says what a document is (the
 * relay's DocumentLayout), the federation doc names the venue doc, the venue doc's directory decides.
 */
export function relayCompletePage(
  repo: Repo,
  federationUrl: string,
  classify: (id: DocumentId) => DocClass | undefined,
): (documentId: DocumentId) => boolean {
  const ready = <T>(id: DocumentId): T | undefined => {
    const h = repo.handles[id]
    return h?.isReady() ? (h.doc() as T) : undefined
  }
  return (documentId) => {
    const cls = classify(documentId)
    if (cls?.kind !== 'ledger-page') return false
    const venueUrl = ready<FederationDoc>(idOf(federationUrl))?.venues?.[cls.venueId]
    if (venueUrl === undefined) return false
    return fullByDirectory(documentId, cls, ready<VenueDoc>(idOf(str(venueUrl))))
  }
}

/**
 * Lets full pages leave the relay's memory, as a till lets its indexed full pages go: a relay following the
 * directory loaded every page of the federation and kept it (a 200k-record history: 209 documents, RSS
 * 497 MB, and growing with every page). A full page is saved before it goes (`DocumentLayout.unload`, which
 * also waits while a connected peer is behind on it) and is loaded back from disk when a peer asks for it
 * by sync; sent whole, it is read from disk without loading. Returns the function that stops the sweep.
 */
export function unloadFullPages(
  repo: Repo,
  unload: (documentId: DocumentId) => Promise<void>,
  completePage: (documentId: DocumentId) => boolean,
  everyMs = 5_000,
): () => void {
  const busy = new Set<DocumentId>()
  const timer = setInterval(() => {
    for (const h of Object.values(repo.handles)) {
      const id = h.documentId
      if (busy.has(id) || !h.isReady() || !completePage(id)) continue
      busy.add(id)
      void unload(id)
        .catch(() => {})
        .finally(() => busy.delete(id))
    }
  }, everyMs)
  timer.unref?.()
  return () => clearInterval(timer)
}
