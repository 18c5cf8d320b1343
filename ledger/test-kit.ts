// Small helpers shared by the ledger tests (not exported from mod.ts).
import { ZERO_HASH } from './bytes.ts'
import { createFixture, type Fixture } from './fixtures.ts'
import { type IngestResult, LedgerIndex } from './ledger-index.ts'
import type { DeviceChainWriter, SignedRecord } from './sign.ts'
import type { CardId, ChainPosition, Hash } from './types.ts'

export interface Kit {
  fx: Fixture
  index: LedgerIndex
  /** Tracks each card's head as records are built (a till's local knowledge). */
  chain(card: CardId): ChainPosition
  advance(card: CardId, record: SignedRecord): void
  topUp(w: DeviceChainWriter, card: CardId, amount: number, asset?: string): Promise<SignedRecord>
  ingest(...records: SignedRecord[]): Promise<IngestResult[]>
}

export async function makeKit(seed = 'kit', fixture?: Fixture): Promise<Kit> {
  const fx = fixture ?? (await createFixture(seed))
  const index = new LedgerIndex({ federation: fx.federation.publicKey })
  await index.ingestMany(fx.statements)
  const heads = new Map<string, { seq: number; head: Hash }>()
  const k = (c: CardId) => Array.from(c).join(',')
  const kit: Kit = {
    fx,
    index,
    chain(card) {
      const h = heads.get(k(card))
      return h ? { card, cardSeq: h.seq + 1, cardPrev: h.head } : { card, cardSeq: 1, cardPrev: ZERO_HASH }
    },
    advance(card, record) {
      const h = heads.get(k(card))
      heads.set(k(card), { seq: (h?.seq ?? 0) + 1, head: record.hash })
    },
    async topUp(w, card, amount, asset = 'EUR') {
      const r = await w.append(
        { kind: 'top-up', chain: kit.chain(card), asset, amount, method: 'cash' },
        fx.signingCards.filter((s) => k(s.card) === k(card)),
      )
      kit.advance(card, r)
      return r
    },
    ingest: (...records) => index.ingestMany(records.map((r) => r.bytes)),
  }
  return kit
}
