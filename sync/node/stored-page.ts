// A document's stored chunks read straight from automerge-repo's storage (no handle loaded): what a full
// ledger page is served as (page-transfer.ts) and what the ledger rebuild reads its records from.
import type { DocumentId, StorageAdapterInterface } from '@automerge/automerge-repo'

/**
 * The document's snapshot and incremental chunks in the order automerge-repo loads them (snapshots first),
 * as one binary for `Automerge.loadIncremental`; undefined when nothing is stored.
 */
export async function loadStoredDoc(
  storage: StorageAdapterInterface,
  id: DocumentId,
): Promise<Uint8Array | undefined> {
  for (let attempt = 0; ; attempt++) {
    try {
      const chunks = [
        ...(await storage.loadRange([id, 'snapshot'])),
        ...(await storage.loadRange([id, 'incremental'])),
      ].flatMap((c) => (c.data ? [c.data] : []))
      if (chunks.length === 0) return undefined
      if (chunks.length === 1) return chunks[0]
      const binary = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
      let at = 0
      for (const c of chunks) {
        binary.set(c, at)
        at += c.length
      }
      return binary
    } catch (e) {
      // A compaction removed a chunk between listing and reading: list again.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw e
    }
  }
}
