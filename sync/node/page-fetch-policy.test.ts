import type { DocumentId, PeerId as RepoPeerId } from '@automerge/automerge-repo'
import { describe, expect, it } from 'vitest'
import { PageFetchPolicy } from './page-fetch-policy.ts'

const id = (s: string) => s as DocumentId
const peer = (s: string) => s as RepoPeerId

function setup(o: { peers: string[]; refused?: string[]; held?: string[]; complete?: string[] }) {
  let now = 0
  const held = new Set(o.held ?? [])
  const peers = o.peers.map(peer)
  const policy = new PageFetchPolicy({
    allowed: async (p) => !(o.refused ?? []).includes(p),
    isPageToFetch: (d) => d.startsWith('page') && !held.has(d),
    isCompletePage: (d) => (o.complete ?? []).includes(d),
    peers: () => peers,
    fallbackMs: 5_000,
    now: () => now,
  })
  const askedOf = async (d: string) => {
    const out: string[] = []
    for (const p of peers) if (await policy.announce(p, id(d))) out.push(p)
    return out
  }
  return { policy, askedOf, held, peers, tick: (ms: number) => (now += ms) }
}

describe('PageFetchPolicy', () => {
  it('asks one peer for a page it does not hold, spreading pages over the peers', async () => {
    const { askedOf } = setup({ peers: ['a', 'b', 'c'] })
    const asked = [
      await askedOf('page1'),
      await askedOf('page2'),
      await askedOf('page3'),
      await askedOf('page4'),
    ]
    for (const a of asked) expect(a).toHaveLength(1)
    expect(new Set(asked.slice(0, 3).map((a) => a[0])).size).toBe(3)
    // asking again gives the same peer
    expect(await askedOf('page1')).toEqual(asked[0])
  })

  it('announces everything else, and held pages, to every allowed peer', async () => {
    const { askedOf } = setup({ peers: ['a', 'b', 'c'], refused: ['b'], held: ['page9'] })
    expect(await askedOf('venue')).toEqual(['a', 'c'])
    expect(await askedOf('page9')).toEqual(['a', 'c'])
    // a refused peer is never the chosen one
    for (let i = 0; i < 5; i++) expect(await askedOf(`page${i}`)).not.toContain('b')
  })

  it('opens a page to every peer when its chosen peer has not delivered within the fallback time', async () => {
    const { policy, askedOf, tick } = setup({ peers: ['a', 'b', 'c'] })
    expect(await askedOf('page1')).toHaveLength(1)
    tick(4_999)
    expect(policy.expire()).toBe(false)
    expect(await askedOf('page1')).toHaveLength(1)
    tick(1)
    expect(policy.expire()).toBe(true)
    expect(await askedOf('page1')).toEqual(['a', 'b', 'c'])
    expect(policy.narrowed).toBe(0)
  })

  it('forgets a page once it is held, and re-chooses when the chosen peer is gone', async () => {
    const { policy, askedOf, held, peers, tick } = setup({ peers: ['a', 'b'] })
    const [first] = await askedOf('page1')
    peers.splice(peers.indexOf(first as RepoPeerId), 1)
    expect(await askedOf('page1')).toEqual(peers)
    held.add('page1')
    tick(10_000)
    expect(policy.expire()).toBe(false)
    expect(policy.narrowed).toBe(0)
  })

  it('announces a full page it holds and has indexed to no peer (a peer that lacks it asks)', async () => {
    const { askedOf } = setup({ peers: ['a', 'b'], held: ['page1', 'page2'], complete: ['page1'] })
    expect(await askedOf('page1')).toEqual([])
    expect(await askedOf('page2')).toEqual(['a', 'b'])
  })
})
