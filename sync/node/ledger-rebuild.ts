// After a restart from the index checkpoint, the ledger's LedgerIndex (no local state export yet) is rebuilt
// from the documents on disk in the background: first every signed statement of the federation doc and of
// every venue doc in its directory, then the records of every ledger page the checkpoint knows.
// The statement docs are looked up explicitly rather than taken from the handles loaded at that moment:
// right after a start the venue docs are often still loading, and records fed without their device
// certificates stayed pending ("device-not-certified").
import * as A from '@automerge/automerge'
import type { AutomergeUrl, DocumentId, Repo, StorageAdapterInterface } from '@automerge/automerge-repo'
import { asUrl, type FederationDoc, type FeedState, type PageProgress, type VenueDoc } from '../docs/mod.ts'
import type { LedgerIngest } from './chain-sink.ts'
import { loadStoredDoc } from './stored-page.ts'

export interface RebuildOptions {
  federationUrl: AutomergeUrl
  /** How long to wait for a directory doc that is not on disk (it then arrives through sync). */
  findTimeoutMs?: number
  /** The repo's storage: pages are read from it directly (without it, through the repo). */
  storage?: StorageAdapterInterface
}

export async function rebuildLedger(
  repo: Repo,
  ledger: LedgerIngest,
  state: FeedState,
  options: RebuildOptions,
): Promise<{ records: number; statements: number; ms: number }> {
  const t0 = performance.now()
  const timeoutMs = options.findTimeoutMs ?? 3000
  const find = async <T>(url: AutomergeUrl | DocumentId) => {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<undefined>((r) => {
      timer = setTimeout(() => r(undefined), timeoutMs)
    })
    try {
      return await Promise.race([repo.find<T>(url).catch(() => undefined), timeout])
    } finally {
      clearTimeout(timer)
    }
  }
  const feed = async (batch: Uint8Array[]) => {
    if (batch.length === 0) return
    if (ledger.ingestMany) await ledger.ingestMany(batch)
    else for (const b of batch) await ledger.ingest(b)
  }

  // Pages are read straight from storage, not through the repo: no handle is loaded and kept for the
  // rebuild, and no race with the index feed letting the same page go (flush, removeFromCache: a find() at
  // that moment handed back a ready handle with an empty doc, and the page's records were lost to the
  // ledger). A page whose stored copy holds fewer records than indexed (data synced, not yet saved) is
  // taken from the repo.
  const pageRecords = async (id: DocumentId, indexed: number) => {
    const fromDisk = options.storage ? await loadStoredRecords(options.storage, id) : undefined
    if (fromDisk && fromDisk.length >= indexed) return fromDisk
    const h = await find<{ records?: Uint8Array[] }>(id)
    return h && Array.isArray(h.doc().records) ? h.doc().records! : fromDisk
  }

  const statements: Uint8Array[] = []
  const fed = await find<FederationDoc>(options.federationUrl)
  if (fed) {
    statements.push(...(fed.doc().entries ?? []))
    const venues = await Promise.all(
      Object.values(fed.doc().venues ?? {}).map((url) => find<VenueDoc>(asUrl(url))),
    )
    for (const v of venues) if (v) statements.push(...(v.doc().entries ?? []))
  }
  // One batch: the ledger's trust is order-free within it (admissions before certificates not required).
  await feed(statements)

  // Lowest page number first across devices (roughly signing order: card chains cross devices, and a
  // device-by-device order left nearly every record pending until the last page), a few pages per ledger
  // batch so its verification window stays full; the next pages are read from disk meanwhile.
  let records = 0
  const pages = rebuildOrder(state.pages)
  const read = (at: number) =>
    Promise.all(pages.slice(at, at + PAGES_PER_BATCH).map(([id, p]) => pageRecords(id, p.indexed)))
  let next = read(0)
  for (let at = 0; at < pages.length; at += PAGES_PER_BATCH) {
    const batches = await next
    next = read(at + PAGES_PER_BATCH)
    const batch = batches.flatMap((b) => b ?? [])
    records += batch.length
    await feed(batch)
  }
  return { records, statements: statements.length, ms: performance.now() - t0 }
}

const PAGES_PER_BATCH = 4

/** The pages of a feed state, lowest page number first (ties in the state's own order). */
export function rebuildOrder(pages: FeedState['pages']): Array<[DocumentId, PageProgress]> {
  return (Object.entries(pages) as Array<[DocumentId, PageProgress]>)
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e[1].page - b.e[1].page || a.i - b.i)
    .map(({ e }) => e)
}

/** A page's records from its stored chunks (snapshot and incremental), or undefined if none is stored. */
export async function loadStoredRecords(
  storage: StorageAdapterInterface,
  id: DocumentId,
): Promise<Uint8Array[] | undefined> {
  const binary = await loadStoredDoc(storage, id)
  if (!binary) return undefined
  const doc = A.loadIncremental(A.init<{ records?: Uint8Array[] }>(), binary)
  const records = doc.records ? [...doc.records] : []
  A.free(doc)
  return records
}
