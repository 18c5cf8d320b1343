// automerge-repo's ShareConfig from the handshake's principals and an injected document-access rule
// (the docs layer knows which documents are personal data and whose venue they belong to). A repo peer the
// handshake does not know gets nothing: no announcement, no access.
import type { DocumentId, RepoConfig, PeerId as RepoPeerId } from '@automerge/automerge-repo/slim'

/** automerge-repo's ShareConfig (not exported by name). */
export type ShareConfig = NonNullable<RepoConfig['shareConfig']>

import type { PeerPrincipal } from './access.ts'

/** May this principal hold this document? */
export type DocumentAccess = (principal: PeerPrincipal, documentId: DocumentId) => boolean | Promise<boolean>

export interface PrincipalLookup {
  principalOf(repoPeerId: RepoPeerId): PeerPrincipal | undefined
}

export function createShareConfig(lookup: PrincipalLookup, documentAccess: DocumentAccess): ShareConfig {
  const allowed = async (peer: RepoPeerId, documentId?: DocumentId): Promise<boolean> => {
    const principal = lookup.principalOf(peer)
    if (!principal) return false
    if (documentId === undefined) return true
    return documentAccess(principal, documentId)
  }
  return { announce: allowed, access: (peer, documentId) => allowed(peer, documentId) }
}
