// Flushing a repo that still looks for some documents. Repo.flush() and Repo.shutdown() call doc() on every
// handle they flush and throw "DocHandle is not ready" on one that is unavailable or still requested (a
// document named in a directory, not yet received): the whole flush rejects, and a shutdown that swallows
// the error may leave documents unsaved. Such a handle has nothing to save.
import type { DocumentId, Repo } from '@automerge/automerge-repo/slim'

/**
 * Writes every ready document to storage; returns their ids. The filter and the flush start in the same
 * tick (Repo.flush reads each doc() synchronously), so no handle changes state in between.
 */
export async function flushReadyDocuments(repo: Repo): Promise<DocumentId[]> {
  const ready = Object.values(repo.handles)
    .filter((h) => h.isReady())
    .map((h) => h.documentId)
  await repo.flush(ready)
  return ready
}

/** A repo.shutdown() that does not throw on documents still looked for: network adapters off, ready documents flushed. */
export async function shutdownRepo(repo: Repo): Promise<void> {
  for (const adapter of repo.networkSubsystem.adapters) adapter.disconnect()
  await flushReadyDocuments(repo)
}
