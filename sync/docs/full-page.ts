// A full ledger page never changes again, so it can travel whole, outside automerge-repo's sync protocol
// (sync/node/page-transfer.ts): the layout asks a FullPageSource first for a page it does not hold.
import type { DocumentId } from '@automerge/automerge-repo/slim'

/** A page the directory names, asked of a full-page source: the page it must be. */
export interface FullPageRequest {
  documentId: DocumentId
  venueId: string
  deviceId: string
  page: number
}

/**
 * Gets a full ledger page whole, outside the repo, and stores it: its records, or undefined when no peer
 * sends it whole (the page is then found through the repo as before).
 */
export type FullPageSource = (want: FullPageRequest) => Promise<Uint8Array[] | undefined>
