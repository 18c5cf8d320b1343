// The index's state and the small helpers every part of LedgerIndex shares: stored entries (bytes in
// the arena, status, card positions), per-card and per-device state, accounts, derived views' maps.
// LedgerIndex is built in layers: IndexState <- IndexProcessor (index-apply.ts) <- IndexViews
// (index-views.ts) <- LedgerIndex (ingest, checkpoints, local snapshot).
import { ByteArena } from './arena.ts'
import { type Balances, EMPTY_BALANCES, withDelta } from './balances.ts'
import { hexOfKey, keyOf } from './bytes.ts'
import { decodeRecordUnchecked } from './codec.ts'
import type { CallbackVerifier } from './crypto.ts'
import { EntryTable } from './entry-table.ts'
import { LedgerRuleError, type Rule } from './errors.ts'
import { type Posting, recordPostings } from './postings.ts'
import { chainPositions } from './sign.ts'
import { buildTrust, type TrustState } from './trust.ts'
import type {
  AssetAmount,
  CardKind,
  Checkpoint,
  LedgerRecord,
  PublicKey,
  RecordKind,
  Statement,
} from './types.ts'
import type { CloseOutView, LedgerIndexOptions, MembershipView, RejectedView, TicketView } from './views.ts'

export type Status = 'verifying' | 'pending' | 'valid' | 'rejected' | 'covered'

export interface CardPos {
  card: string
  cardSeq: number
  /** Path balance after this record; null once a successor exists (recomputed on demand: forks). */
  after: Balances | null
}

export interface RecordEntry {
  key: string
  /** Bytes in the arena (ref, len); -1/0 for checkpoint anchors. */
  ref: number
  len: number
  status: Status
  sigOk: boolean
  rec: LedgerRecord | null
  error: LedgerRuleError | null
  waitingFor: string | null
  // filled when valid
  kind: RecordKind | 'anchor' | null
  device: string
  deviceSeq: number
  // card positions inline (one object per record, no arrays): the first, and a transfer's second
  card1: string | null
  seq1: number
  after1: Balances | null
  pos2: CardPos | null
}

export function positionOf(e: RecordEntry | undefined, ck: string): CardPos | undefined {
  if (!e) return undefined
  if (e.card1 === ck) return { card: ck, cardSeq: e.seq1, after: e.after1 }
  if (e.pos2?.card === ck) return e.pos2
  return undefined
}

export interface CardState {
  kind: CardKind
  bySeq: (string | string[] | undefined)[]
  forkSeqs: number[]
  replacedBy: string[]
}

export interface DeviceState {
  bySeq: (string | string[] | undefined)[]
  forkSeqs: number[]
  drawer: Map<string, number>
  closeOuts: CloseOutView[]
  voids: Map<string, string[]>
}

export interface Effect {
  cards: CardPos[]
  /** (predecessor entry, card key) of each card position after the first of its chain. */
  prevs: Array<[RecordEntry, string]>
  postings: Posting[]
  views?: () => void
}

export const CASH = 'x:cash'

export function reject(rule: Rule, detail: string): never {
  throw new LedgerRuleError(rule, detail)
}

// A pushed record comes alone: its verify on the calling thread cost less CPU than the thread pool's
// round trip (measured with the festival, ledger/README "Speed and memory"); a page or a catch-up batch
// still spreads over the pool.
const DEFAULT_VERIFY_INLINE_MAX = 8

export abstract class IndexState {
  protected readonly federationKeys: PublicKey[]

  protected concurrency: number

  // the batches' one-signature verifications (useVerifier); undefined: node:crypto on libuv's pool
  protected verifier: CallbackVerifier | undefined

  protected readonly verifyInlineMax: number

  protected entries = new EntryTable()

  protected statements = new Map<string, { bytes: Uint8Array; statement: Statement }>()

  protected malformed: RejectedView[] = []

  protected trust: TrustState

  // derived state (reset by rebuild)
  protected accounts = new Map<string, Map<string, number>>()

  protected cards = new Map<string, CardState>()

  protected devices = new Map<string, DeviceState>()

  protected waiters = new Map<string, string | string[]>()

  protected trustWaiters = new Set<string>()

  protected membershipMap = new Map<string, MembershipView[]>()

  protected tickets = new Map<string, TicketView>()

  protected links = new Map<string, Array<{ venue: string; payload: Uint8Array; hash: string }>>()

  protected checkpoints: string[] = []

  protected cardForks: Array<{ card: string; seq: number }> = []

  protected deviceForks: Array<{ device: string; seq: number }> = []

  protected anchors: Checkpoint | null = null

  protected anchorBytes: Uint8Array | null = null

  protected anchorSeqs = new Map<string, number>()

  protected queue: string[] = []

  constructor(options: LedgerIndexOptions) {
    this.federationKeys = Array.isArray(options.federation) ? options.federation : [options.federation]
    // 64 in flight keeps the thread pool busy; more only holds more decoded records (measured: same
    // speed, +50 % peak RSS at 512)
    this.concurrency = options.concurrency ?? 64
    this.verifyInlineMax = options.verifyInlineMax ?? DEFAULT_VERIFY_INLINE_MAX
    this.trust = buildTrust(this.federationKeys, [])
  }

  protected arena = new ByteArena()

  protected bytesOf(e: RecordEntry): Uint8Array {
    return e.ref === -1 && e.len === 0 ? new Uint8Array(0) : this.arena.get(e.ref, e.len)
  }

  protected interned = new Map<string, string>()

  /** One string per device / card key, shared by all its records (memory). */
  protected intern(k: string): string {
    const c = this.interned.get(k)
    if (c !== undefined) return c
    this.interned.set(k, k)
    return k
  }

  protected record(entry: RecordEntry): LedgerRecord {
    if (!entry.rec) return decodeRecordUnchecked(this.bytesOf(entry))
    return entry.rec
  }

  /** Path balance of card `ck` after record `key`: stored for tips, else replayed from the nearest one. */
  protected balanceAt(key: string, ck: string): Balances {
    const path: RecordEntry[] = []
    let base: Balances = EMPTY_BALANCES
    for (let k = key; ; ) {
      const e = this.entries.get(k)!
      const pos = positionOf(e, ck)!
      if (pos.after) {
        base = pos.after
        break
      }
      path.push(e)
      const c = chainPositions(this.record(e)).find((p) => keyOf(p.card) === ck)!
      if (c.cardSeq === 1) break
      k = keyOf(c.cardPrev)
    }
    const account = `c:${ck}`
    for (let i = path.length - 1; i >= 0; i--) {
      const rec = this.record(path[i]!)
      const target = rec.kind === 'void' ? this.record(this.entries.get(keyOf(rec.target))!) : null
      for (const [acc, asset, d] of recordPostings(rec, '', target))
        if (acc === account) base = withDelta(base, asset, d)
    }
    return base
  }

  /** Is record `ancestorKey` on `rec`'s device chain (walk back through devicePrev)? */
  protected isDeviceAncestor(ancestorKey: string, rec: LedgerRecord): boolean {
    const target = this.entries.get(ancestorKey)
    if (!target) return false
    let k = keyOf(rec.devicePrev)
    for (;;) {
      if (k === ancestorKey) return true
      const e = this.entries.get(k)
      if (!e || e.kind === 'anchor' || e.deviceSeq <= target.deviceSeq) return false
      k = keyOf(this.record(e).devicePrev)
    }
  }

  // cardState, deviceState and post run for every record: no closure per call
  protected cardState(ck: string, kind: CardKind): CardState {
    let s = this.cards.get(ck)
    if (s === undefined) {
      s = { kind, bySeq: [], forkSeqs: [], replacedBy: [] }
      this.cards.set(ck, s)
    }
    return s
  }

  protected deviceState(dk: string): DeviceState {
    let s = this.devices.get(dk)
    if (s === undefined) {
      s = { bySeq: [], forkSeqs: [], drawer: new Map(), closeOuts: [], voids: new Map() }
      this.devices.set(dk, s)
    }
    return s
  }

  protected ticket(id: string): TicketView {
    return getOrCreate(
      this.tickets,
      id,
      (): TicketView => ({
        ticket: id,
        state: 'unknown',
        issues: [],
        checkIns: [],
        conflict: false,
      }),
    )
  }

  protected post(account: string, asset: string, delta: number): void {
    let m = this.accounts.get(account)
    if (m === undefined) {
      m = new Map<string, number>()
      this.accounts.set(account, m)
    }
    m.set(asset, (m.get(asset) ?? 0) + delta)
  }

  /** Place `key` at `seq`; returns true when another hash already holds that position (a fork). */
  protected static place(bySeq: (string | string[] | undefined)[], seq: number, key: string): boolean {
    const cur = bySeq[seq]
    if (cur === undefined) {
      bySeq[seq] = key
      return false
    }
    if (typeof cur === 'string') bySeq[seq] = [cur, key]
    else cur.push(key)
    return true
  }
}

export function sortedAmounts(m: Map<string, number> | undefined): AssetAmount[] {
  if (!m) return []
  return [...m]
    .map(([asset, amount]) => ({ asset, amount }))
    .sort((a, b) => (a.asset < b.asset ? -1 : a.asset > b.asset ? 1 : 0))
}

export function byHash<T extends { hash: string }>(a: T, b: T): number {
  return a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0
}

export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}

export function getOrCreate<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key)
  if (v === undefined) {
    v = make()
    map.set(key, v)
  }
  return v
}

/** The kind byte of signed bytes without decoding them (0 when unreadable: decode reports why). */
export function peekKind(bytes: Uint8Array): number {
  let i = 0
  while (i < bytes.length && i < 8 && (bytes[i]! & 0x80) !== 0) i++
  return bytes[i + 2] ?? 0
}

export const WAITING_ON_HASH = '\u0000'
/** A rule name, or the hex hash of the predecessor a record waits for. */
export function waitingLabel(w: string): string {
  return w.startsWith(WAITING_ON_HASH) ? hexOfKey(w.slice(1)) : w
}
