// LinkResync: a new link re-syncs only the documents that changed since the peer last reported its heads,
// and documents skipped at link start still carry later changes. Two repos on durable storage (each has a
// storage id, as tills do) joined by an in-process wire that can be cut and made again.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import {
  type DocHandle,
  type DocumentId,
  type Message,
  NetworkAdapter,
  type PeerId,
  type PeerMetadata,
  Repo,
} from '@automerge/automerge-repo'
import { afterEach, describe, expect, it } from 'vitest'
import { DurableFsStorageAdapter } from '../docs/durable-storage.ts'
import { LinkResync } from './link-resync.ts'

/** One end of a wire between two repos: messages go over while the wire is up, in order. */
class WireEnd extends NetworkAdapter {
  other?: WireEnd
  up = false
  /** Sync messages this end sent, with the link they were sent on. */
  readonly sent: Array<{ link: number; documentId: string }> = []
  link = 0
  readonly connected = Promise.withResolvers<void>()
  isReady(): boolean {
    return true
  }
  whenReady(): Promise<void> {
    return Promise.resolve()
  }
  connect(peerId: PeerId, peerMetadata?: PeerMetadata): void {
    this.peerId = peerId
    this.peerMetadata = peerMetadata ?? {}
    this.connected.resolve()
  }
  disconnect(): void {
    this.up = false
  }
  send(message: Message): void {
    const other = this.other
    if (!this.up || !other) return
    if (message.type === 'sync' || message.type === 'request')
      this.sent.push({ link: this.link, documentId: String(message.documentId) })
    const link = this.link
    // a message sent on a link that is cut before it arrives is lost, as on a real connection
    setTimeout(() => {
      if (other.up && other.link === link) other.emit('message', message)
    }, 1)
  }
}

async function join(a: WireEnd, b: WireEnd): Promise<void> {
  await Promise.all([a.connected.promise, b.connected.promise])
  a.other = b
  b.other = a
  a.link = b.link = a.link + 1
  a.up = b.up = true
  a.emit('peer-candidate', { peerId: b.peerId!, peerMetadata: b.peerMetadata! })
  b.emit('peer-candidate', { peerId: a.peerId!, peerMetadata: a.peerMetadata! })
}

function cut(a: WireEnd, b: WireEnd): void {
  a.up = b.up = false
  a.emit('peer-disconnected', { peerId: b.peerId! })
  b.emit('peer-disconnected', { peerId: a.peerId! })
}

interface Side {
  repo: Repo
  wire: WireEnd
  resync?: LinkResync
}

const dirs: string[] = []
const repos: Repo[] = []
afterEach(async () => {
  await Promise.all(repos.splice(0).map((r) => r.shutdown().catch(() => {})))
  // the repo's throttled sync-state saves (100 ms) land after its shutdown
  await sleep(250)
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function side(name: string, skipUnchanged = true, reuseDir?: string): Side & { dir: string } {
  const dir = reuseDir ?? mkdtempSync(path.join(tmpdir(), `lakou-link-resync-${name}-`))
  if (!reuseDir) dirs.push(dir)
  const wire = new WireEnd()
  let resync: LinkResync | undefined
  const repo = new Repo({
    network: [wire],
    storage: new DurableFsStorageAdapter(dir),
    peerId: name as PeerId,
    shareConfig: {
      announce: async (_peer, id) => (id === undefined || !resync ? true : resync.announce(_peer, id)),
      access: async () => true,
    },
  })
  repos.push(repo)
  if (skipUnchanged) resync = new LinkResync(repo, async () => true)
  return { repo, wire, dir, ...(resync ? { resync } : {}) }
}

/** The same node restarted: a new repo on the same storage (same storage id), documents loaded again. */
async function restart(s: Side & { dir: string }, ids: DocumentId[]) {
  await s.repo.shutdown()
  const again = side(String(s.repo.peerId), true, s.dir)
  const docs = await Promise.all(ids.map((id) => again.repo.find<Counter>(id)))
  again.resync!.watch()
  return { ...again, docs }
}

type Counter = { n: number; by?: string[] }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (check()) return
    await sleep(10)
  }
  throw new Error(`timed out waiting for ${what}`)
}

const same = (a: DocHandle<Counter>, b: DocHandle<Counter>) =>
  JSON.stringify([...a.heads()].sort()) === JSON.stringify([...b.heads()].sort())

/** Two repos sharing `n` documents, synced over a first link, then the link cut. */
async function pair(n: number, skipUnchanged = true) {
  const a = side('peer-a', skipUnchanged)
  const b = side('peer-b', skipUnchanged)
  const docsA = Array.from({ length: n }, (_, i) => a.repo.create<Counter>({ n: i }))
  await join(a.wire, b.wire)
  const docsB = await Promise.all(docsA.map((h) => b.repo.find<Counter>(h.url)))
  await until(() => docsA.every((h, i) => same(h, docsB[i]!)), 'the first sync')
  a.resync?.watch()
  b.resync?.watch()
  // both sides have heard the other's final heads (a sync message after the last change) before the cut
  await sleep(300)
  cut(a.wire, b.wire)
  return { a, b, docsA, docsB }
}

const sentOn = (wire: WireEnd, link: number) =>
  wire.sent.filter((m) => m.link === link).map((m) => m.documentId as DocumentId)

describe('LinkResync', () => {
  it('a new link syncs only the documents that changed while the peers were apart', async () => {
    const { a, b, docsA, docsB } = await pair(6)
    docsA[2]!.change((d) => {
      d.n = 100
    })
    await join(a.wire, b.wire)
    const link = a.wire.link
    await until(() => docsB[2]!.doc().n === 100, 'the changed document')
    await sleep(300)
    const synced = new Set([...sentOn(a.wire, link), ...sentOn(b.wire, link)])
    expect([...synced]).toEqual([docsA[2]!.documentId])
    expect(docsA.every((h, i) => same(h, docsB[i]!))).toBe(true)
    expect(a.resync!.skipped).toBeGreaterThanOrEqual(5)
  })

  it('without it every shared document is synced again on every link (the cost it removes)', async () => {
    const { a, b } = await pair(6, false)
    await join(a.wire, b.wire)
    const link = a.wire.link
    await until(() => new Set(sentOn(a.wire, link)).size === 6, 'a message per document')
    expect(new Set(sentOn(b.wire, link)).size).toBeGreaterThan(0)
  })

  it('a document skipped at link start still carries later changes, either way', async () => {
    const { a, b, docsA, docsB } = await pair(4)
    await join(a.wire, b.wire)
    await sleep(200)
    // nothing changed: no document was synced on this link
    expect(sentOn(a.wire, a.wire.link)).toEqual([])
    docsB[1]!.change((d) => {
      d.n = 7
    })
    await until(() => docsA[1]!.doc().n === 7, 'a change made on B after the link came up')
    docsA[3]!.change((d) => {
      d.by = ['a']
    })
    await until(() => docsB[3]!.doc().by?.[0] === 'a', 'a change made on A after the link came up')
    expect(b.resync!.started + a.resync!.started).toBeGreaterThanOrEqual(2)
  })

  it('both sides changed the same document while apart: they converge to both changes', async () => {
    const { a, b, docsA, docsB } = await pair(3)
    docsA[0]!.change((d) => {
      d.by = ['a']
    })
    docsB[0]!.change((d) => {
      d.n = 42
    })
    await join(a.wire, b.wire)
    await until(() => same(docsA[0]!, docsB[0]!), 'convergence')
    expect(docsA[0]!.doc().n).toBe(42)
    expect(docsB[0]!.doc().by).toEqual(['a'])
  })

  it('after both restart, the heads declared in the hellos spare the first link what both hold', async () => {
    const { a, b, docsA } = await pair(5)
    const ids = docsA.map((h) => h.documentId)
    const a2 = await restart(a, ids)
    const b2 = await restart(b, ids)
    // a document changed after the digests were taken is synced all the same
    const digestA = a2.resync!.digest()
    const digestB = b2.resync!.digest()
    a2.docs[4]!.change((d) => {
      d.n = 44
    })
    // what PeerAccess does with the hello attachments, before the peers count as authenticated
    a2.resync!.declared(String(b2.repo.peerId), digestB)
    b2.resync!.declared(String(a2.repo.peerId), digestA)
    await join(a2.wire, b2.wire)
    await until(() => b2.docs[4]!.doc().n === 44, 'the document changed after the digest')
    await sleep(300)
    const synced = new Set([...sentOn(a2.wire, a2.wire.link), ...sentOn(b2.wire, b2.wire.link)])
    expect([...synced]).toEqual([ids[4]])
  })

  it('after both restart, without declared heads, the first link syncs every document again', async () => {
    const { a, b, docsA } = await pair(5)
    const ids = docsA.map((h) => h.documentId)
    const a2 = await restart(a, ids)
    const b2 = await restart(b, ids)
    await join(a2.wire, b2.wire)
    await until(() => new Set(sentOn(a2.wire, a2.wire.link)).size === 5, 'a message per document')
  })

  it('a hello without heads (or malformed) forgets what the peer declared before', async () => {
    const { a, b, docsA } = await pair(2)
    const ids = docsA.map((h) => h.documentId)
    const a2 = await restart(a, ids)
    const b2 = await restart(b, ids)
    const peerB = String(b2.repo.peerId)
    a2.resync!.declared(peerB, b2.resync!.digest())
    expect(a2.resync!.peerHasOurs(peerB as PeerId, ids[0]!)).toBe(true)
    a2.resync!.declared(peerB, new Uint8Array([0xff, 0x00]))
    expect(a2.resync!.peerHasOurs(peerB as PeerId, ids[0]!)).toBe(false)
    a2.resync!.declared(peerB, b2.resync!.digest())
    a2.resync!.declared(peerB, undefined)
    expect(a2.resync!.peerHasOurs(peerB as PeerId, ids[0]!)).toBe(false)
  })

  it('a sync cut off half-way is taken up again on the next link', async () => {
    const { a, b, docsA, docsB } = await pair(3)
    docsA[1]!.change((d) => {
      d.n = 5
    })
    await join(a.wire, b.wire)
    // cut before the peer's answer comes back: A does not know that B holds its heads
    cut(a.wire, b.wire)
    await sleep(50)
    await join(a.wire, b.wire)
    await until(() => docsB[1]!.doc().n === 5, 'the change after the second link')
    expect(same(docsA[1]!, docsB[1]!)).toBe(true)
  })
})
