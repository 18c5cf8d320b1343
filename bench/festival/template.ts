// The festival before the gates open: a federation, one venue, every till enrolled, and the pre-existing
// history (default 200,000 records by a few earlier tills) written once, deterministically from a seed, into
// ledger pages of a data dir template. A real node then indexes the template once, so its index checkpoint
// comes with it; each till copies the template instead of syncing the history live at start.
import {
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { type AutomergeUrl, Repo } from '@automerge/automerge-repo'
import { DeviceChainWriter, keyPairFromSeed, LedgerIndex, sha256, toHex } from '../../ledger/mod.ts'
import { DurableFsStorageAdapter } from '../../sync/docs/durable-storage.ts'
import { DocumentLayout, type FederationDoc, type VenueDoc } from '../../sync/docs/mod.ts'
import { dataPaths, readNodeConfig } from '../../sync/node/config.ts'
import { admitVenue, createFederation, enrollDevice } from '../../sync/node/setup.ts'
import { createVenueNode } from '../../sync/node/venue-node.ts'
import { advance, type CardPosition, freshCard, nextCardRecord, prng } from './workload.ts'

export interface TemplateOptions {
  tills: number
  records: number
  cards: number
  seed: number
  /** Earlier tills that wrote the history. */
  historyDevices?: number
  log?: (line: string) => void
}

export interface Festival {
  root: string
  federationKey: string
  /** Data dirs of the tills, filled from the template. */
  tills: string[]
  /** Data dir of a till enrolled before the history: it has none of it (the catch-up till). */
  fresh: string
  /** Seconds for a fresh LedgerIndex to ingest the history with no sync (the catch-up baseline). */
  ledgerIngestSeconds: number
  generateSeconds: number
  templateIndexSeconds: number
  cleanup(): void
}

const PAGE = 1000
const HISTORY_TIME = Date.UTC(2026, 6, 10, 14)

// Deterministic keys: setup's loadKey reads a key file that already exists, so seeding the files makes
// every key (and so every history signature) the same for the same seed.
function seedKey(file: string, seed: number, label: string): void {
  mkdirSync(path.dirname(file), { recursive: true })
  writeFileSync(file, sha256(new TextEncoder().encode(`lakou/festival/${seed}/${label}`)), { mode: 0o600 })
}

// Hard links instead of copies: 50 tills x ~110 MB of pages at 200k records would be 5.5 GB written. Safe
// because every file here is replaced, never rewritten in place: DurableFsStorageAdapter and
// writeFileDurably write a temp file and rename it over (a new inode), and removals unlink.
export function linkTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true })
  for (const e of readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, e.name)
    const dst = path.join(to, e.name)
    if (e.isDirectory()) linkTree(src, dst)
    else linkSync(src, dst)
  }
}

export async function buildFestival(o: TemplateOptions): Promise<Festival> {
  const log = o.log ?? (() => {})
  const root = mkdtempSync(path.join(tmpdir(), 'lakou-festival-'))
  const dir = (name: string) => path.join(root, name)
  seedKey(dataPaths(dir('federation')).federationKey, o.seed, 'federation')
  seedKey(dataPaths(dir('venue')).venueKey, o.seed, 'venue')
  await createFederation(dir('federation'))
  const venueSetup = await admitVenue(dir('federation'), dir('venue'), 'festival')
  const enroll = async (name: string, roles: Array<'cashier' | 'admin'>) => {
    seedKey(dataPaths(dir(name)).deviceKey, o.seed, name)
    await enrollDevice(dir('venue'), dir(name), { roles, label: name })
    return dir(name)
  }
  const tills: string[] = []
  for (let i = 0; i < o.tills; i++) tills.push(await enroll(`till${i}`, ['cashier']))
  const fresh = await enroll('fresh', ['cashier'])
  const historyNames = Array.from({ length: o.historyDevices ?? 10 }, (_, i) => `history${i}`)
  for (const h of historyNames) await enroll(h, ['cashier'])
  const admin = await enroll('admin', ['admin'])
  log(`festival: ${o.tills} tills enrolled`)

  // History: random cards at random earlier tills, written straight into full ledger pages.
  const t0 = performance.now()
  const random = prng(o.seed)
  const writers = await Promise.all(
    historyNames.map(async (h) => {
      const key = await keyPairFromSeed(sha256(new TextEncoder().encode(`lakou/festival/${o.seed}/${h}`)))
      let time = HISTORY_TIME
      return new DeviceChainWriter(key, { clock: () => (time += 997) })
    }),
  )
  const perDevice: Uint8Array[][] = writers.map(() => [])
  const cards: CardPosition[] = Array.from({ length: o.cards }, (_, n) => freshCard(n))
  const all: Uint8Array[] = []
  for (let i = 0; i < o.records; i++) {
    const d = Math.floor(random() * writers.length)
    const n = Math.floor(random() * cards.length)
    const body = nextCardRecord(cards[n]!, random)
    const signed = await writers[d]!.append(body)
    cards[n] = advance(cards[n]!, body, signed.hash)
    perDevice[d]!.push(signed.bytes)
    all.push(signed.bytes)
  }
  const repo = new Repo({ storage: new DurableFsStorageAdapter(dataPaths(dir('venue')).automerge) })
  const layout = new DocumentLayout(repo)
  const venue = await repo.find<VenueDoc>(venueSetup.venueUrl as AutomergeUrl)
  const fed = await repo.find<FederationDoc>(venueSetup.federationUrl as AutomergeUrl)
  for (let d = 0; d < writers.length; d++) {
    const records = perDevice[d]!
    for (let p = 0; p * PAGE < records.length; p++) {
      const page = layout.createPage(venue, toHex(writers[d]!.device.publicKey), p)
      page.change((doc) => {
        for (const r of records.slice(p * PAGE, (p + 1) * PAGE)) doc.records.push(r)
      })
    }
  }
  const statements = [...fed.doc().entries, ...venue.doc().entries].map((e) => new Uint8Array(e))
  await repo.flush()
  await repo.shutdown()
  const generateSeconds = (performance.now() - t0) / 1000
  log(`festival: ${o.records} history records written in ${generateSeconds.toFixed(1)} s`)

  // Baseline for catch-up: the ledger ingesting the same history with no sync at all.
  const config = await readNodeConfig(admin)
  const index = new LedgerIndex({ federation: [new Uint8Array(Buffer.from(config.federationKey, 'hex'))] })
  const t1 = performance.now()
  await index.ingestMany(statements)
  await index.ingestMany(all)
  const ledgerIngestSeconds = (performance.now() - t1) / 1000
  const counts = index.counts()
  if (counts.valid !== o.records || counts.pending !== 0)
    throw new Error(`history does not validate: ${JSON.stringify(counts)}`)
  all.length = 0
  log(`festival: ledger ingest of the history ${ledgerIngestSeconds.toFixed(1)} s`)

  // A real node indexes the template once (its index checkpoint is written at stop).
  const template = dir('template')
  cpSync(dataPaths(dir('venue')).automerge, dataPaths(admin).automerge, { recursive: true, force: true })
  const t2 = performance.now()
  const node = await createVenueNode({
    dataDir: admin,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: false,
    checkpointEveryMs: 600_000,
    log: (l) => log(l),
  })
  const target = o.records + statements.length
  while (node.sink.size < target) await new Promise((r) => setTimeout(r, 200))
  await node.idle()
  await node.stop()
  const templateIndexSeconds = (performance.now() - t2) / 1000
  log(`festival: template indexed by a node in ${templateIndexSeconds.toFixed(1)} s`)
  mkdirSync(template)
  cpSync(dataPaths(admin).automerge, dataPaths(template).automerge, { recursive: true })
  cpSync(dataPaths(admin).checkpoint, dataPaths(template).checkpoint)
  // The ledger's local snapshot, written by the node with its checkpoint (where sync/node does): tills then
  // restore their ledger from it instead of re-verifying the whole history in the background.
  const ledgerSnapshot = (dataPaths(admin) as { ledgerSnapshot?: string }).ledgerSnapshot
  if (ledgerSnapshot && existsSync(ledgerSnapshot))
    cpSync(ledgerSnapshot, path.join(template, path.basename(ledgerSnapshot)))
  // Each till gets its own storage id (automerge-repo keys peers' sync states by it).
  rmSync(path.join(dataPaths(template).automerge, 'st', 'orage-adapter-id'), { force: true })
  for (const till of tills) {
    rmSync(dataPaths(till).automerge, { recursive: true, force: true })
    linkTree(template, till)
  }
  return {
    root,
    federationKey: config.federationKey,
    tills,
    fresh,
    ledgerIngestSeconds,
    generateSeconds,
    templateIndexSeconds,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  }
}
