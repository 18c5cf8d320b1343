// The festival's generated traffic is traffic the ledger accepts, the same seed gives the same festival, and
// the network plan (links, partitions) is what the bench claims it is.
import { describe, expect, it } from 'vitest'
import { createFixture, LedgerIndex, toHex } from '../../ledger/mod.ts'
import { FestivalLinks } from './links.ts'
import { cutEdges, type Edge, partitions, topology } from './plan.ts'
import type { Till } from './tills.ts'
import { advance, type CardPosition, freshCard, nextCardRecord, prng } from './workload.ts'

async function festival(seed: number, records: number, cards: number) {
  const fx = await createFixture('festival-test', { venues: 1 })
  const writers = [fx.writer(fx.venues[0]!.cashier)]
  const random = prng(seed)
  const positions: CardPosition[] = Array.from({ length: cards }, (_, n) => freshCard(n))
  const bytes: Uint8Array[] = []
  let credited = 0
  let spent = 0
  for (let i = 0; i < records; i++) {
    const n = Math.floor(random() * cards)
    const body = nextCardRecord(positions[n]!, random)
    const signed = await writers[0]!.append(body)
    const after = advance(positions[n]!, body, signed.hash)
    if (after.balance > positions[n]!.balance) credited += after.balance - positions[n]!.balance
    else spent += positions[n]!.balance - after.balance
    positions[n] = after
    bytes.push(signed.bytes)
  }
  return { fx, bytes, positions, credited, spent }
}

describe('festival workload', () => {
  it('writes card top-ups and bar sales that all validate, with the balances the generator tracked', async () => {
    const seed = 7
    const { fx, bytes, positions, credited, spent } = await festival(seed, 400, 25)
    const index = new LedgerIndex({ federation: fx.federation.publicKey })
    await index.ingestMany(fx.statements)
    // Shuffled arrival (as over sync): records wait for their predecessors, then all apply.
    const random = prng(seed + 1)
    const shuffled = [...bytes].sort(() => random() - 0.5)
    await index.ingestMany(shuffled)
    const counts = index.counts()
    expect(counts, `seed ${seed}`).toMatchObject({ valid: 400, pending: 0, rejected: 0 })
    expect(spent, 'some sales were paid by card').toBeGreaterThan(0)
    for (const p of positions) {
      expect(index.balance(p.card, 'EUR'), `seed ${seed}`).toBe(p.balance)
      expect(index.nextChainPosition(p.card)?.cardSeq).toBe(p.seq + 1)
    }
    const total = positions.reduce((s, p) => s + p.balance, 0)
    expect(total).toBe(credited - spent)
  })

  it('gives the same records for the same seed and different ones for another seed', async () => {
    const a = await festival(3, 30, 5)
    const b = await festival(3, 30, 5)
    const c = await festival(4, 30, 5)
    const hex = (xs: Uint8Array[]) => xs.map(toHex).join()
    expect(hex(a.bytes)).toBe(hex(b.bytes))
    expect(hex(a.bytes)).not.toBe(hex(c.bytes))
  })
})

describe('festival network plan', () => {
  it('links every till (a connected graph) with the asked mean degree, the same for the same seed', () => {
    for (const [tills, degree] of [
      [50, 4],
      [6, 3],
      [3, 4],
    ] as const) {
      const edges = topology(tills, degree, 11)
      expect(edges).toEqual(topology(tills, degree, 11))
      expect(edges.length).toBe(Math.min((tills * (tills - 1)) / 2, Math.ceil((tills * degree) / 2)))
      const reached = new Set([0])
      for (let grew = true; grew; ) {
        grew = false
        for (const [a, b] of edges)
          if (reached.has(a) !== reached.has(b)) {
            reached.add(a).add(b)
            grew = true
          }
      }
      expect(reached.size, `${tills} tills`).toBe(tills)
    }
  })

  it('cuts groups of tills for 10-30 s inside the sales window, and only the links across the cut', () => {
    const seed = 5
    const plan = partitions(50, 60, seed)
    expect(plan).toEqual(partitions(50, 60, seed))
    expect(plan.length).toBeGreaterThan(3)
    for (const p of plan) {
      expect(p.start, `seed ${seed}`).toBeGreaterThanOrEqual(0)
      expect(p.end).toBeLessThanOrEqual(60)
      expect(p.end - p.start).toBeLessThanOrEqual(30)
      if (p.end < 60) expect(p.end - p.start).toBeGreaterThanOrEqual(10)
      expect(p.group.length).toBeGreaterThanOrEqual(2)
      expect(p.group.length).toBeLessThan(50)
    }
    const edges = topology(50, 4, seed)
    const cut = cutEdges(edges, plan[0]!.group)
    expect(cut.length).toBeGreaterThan(0)
    for (const [a, b] of cut) expect(plan[0]!.group.includes(a)).not.toBe(plan[0]!.group.includes(b))
  })
})

/**
 * Tills that only record the bench's commands; `linked` fails for the peers listed in `slow`, and only the
 * first time for those in `slowOnce`.
 */
function fakeTills(count: number, slow = new Set<string>(), slowOnce = new Set<string>()) {
  const sent: string[] = []
  const tills = Array.from({ length: count }, (_, i) => {
    const send = async (c: Record<string, unknown>) => {
      const peers = (c.peerIds as string[] | undefined)?.join(',') ?? String(c.peerId ?? '')
      sent.push(`${i} ${String(c.cmd)} ${peers}`)
      const link = `${i}-${String(c.peerId)}`
      if (c.cmd === 'linked' && (slow.has(link) || slowOnce.delete(link)))
        throw new Error('not authenticated in time')
      return {}
    }
    return { peerId: `p${i}`, addresses: [`/addr/${i}`], send, stderr: () => '' } as unknown as Till
  })
  return { tills, sent }
}

describe('festival links (cuts and heals)', () => {
  const edges: Edge[] = [
    [0, 1],
    [1, 2],
    [0, 2],
  ]

  it('a link cut by two overlapping cuts stays blocked until both are healed, then comes back by itself', async () => {
    const { tills, sent } = fakeTills(3)
    const links = new FestivalLinks(tills, edges, () => {})
    await links.cut([0]) // cuts 0-1 and 0-2
    await links.cut([0, 1]) // cuts 0-2 (again) and 1-2
    expect(sent.filter((x) => x.includes('block')).sort()).toEqual(
      ['0 block p1', '1 block p0', '0 block p2', '2 block p0', '1 block p2', '2 block p1'].sort(),
    )
    sent.length = 0
    await links.heal([0]) // 0-1 lifted; 0-2 still held by the second cut
    expect(sent.filter((x) => x.includes('unblock')).sort()).toEqual(['0 unblock p1', '1 unblock p0'])
    // The bench waited for both ends to pass the handshake again, and did not dial (the tills redial).
    expect(sent.filter((x) => x.includes('linked')).sort()).toEqual(['0 linked p1', '1 linked p0'])
    expect(sent.some((x) => x.includes(' dial '))).toBe(false)
    sent.length = 0
    await links.heal([0, 1])
    expect(sent.filter((x) => x.includes('unblock')).sort()).toEqual(
      ['0 unblock p2', '2 unblock p0', '1 unblock p2', '2 unblock p1'].sort(),
    )
    expect(links.healLinkMs.length).toBe(3)
    expect(links.healFallbackDials).toBe(0)
  })

  it('a link slow to come back is logged and waited for, not dialled by the bench', async () => {
    const { tills, sent } = fakeTills(3, new Set(), new Set(['0-p1']))
    const lines: string[] = []
    const links = new FestivalLinks(tills, edges, (line) => lines.push(line))
    await links.cut([0])
    sent.length = 0
    await links.heal([0])
    expect(sent.some((x) => x.includes(' dial '))).toBe(false)
    expect(sent).toContain('0 linkState p1')
    expect(lines.some((l) => l.startsWith('link 0-1 not back after 20 s'))).toBe(true)
    expect(links.healFallbackDials).toBe(0)
    expect(links.healLinkMs.length).toBe(2)
  })

  it('a link not back by itself is dialled by the bench and counted apart', async () => {
    const { tills, sent } = fakeTills(3, new Set(['0-p1']))
    const links = new FestivalLinks(tills, edges, () => {})
    await links.cut([0])
    sent.length = 0
    await links.heal([0])
    expect(sent).toContain('0 dial p1')
    expect(links.healFallbackDials).toBe(1)
    // Still not back after the bench's dial: given up and counted, not waited on forever.
    expect(links.healFailures).toBe(1)
  })
})
