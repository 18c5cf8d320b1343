// Tag card state: the compact, device-signed summary a cheap NTAG card carries (two slots A/B are the
// hardware driver's business). Layout, at most 177 bytes for a 7-byte UID and 4 assets:
//   u8 version | bytes card | uint cardSeq | head{32} | uint time | signer{8} | u8 n |
//   n x (u32be assetRef, int amount) | signature{64}
// assetRef = first 4 bytes of SHA-256(asset id); signer = first 8 bytes of the device public key.
import { bytesEqual, concatBytes, keyOf, Reader, toHex, Writer } from './bytes.ts'
import { cardKindOf } from './codec.ts'
import { type Signer, sha256, verifySignature } from './crypto.ts'
import { LedgerDecodeError, LedgerRuleError } from './errors.ts'
import type { LedgerIndex } from './ledger-index.ts'
import { assetRef, offlineCeiling } from './trust.ts'
import type { AssetAmount, CardId, Hash } from './types.ts'

export const TAG_STATE_VERSION = 1
export const TAG_STATE_MAX_BYTES = 200
export const TAG_STATE_DOMAIN = new TextEncoder().encode('lakou/tag-state/v1')
const MAX_ASSETS = 8

export interface TagCardState {
  card: CardId
  cardSeq: number
  /** Hash of the card-chain record at cardSeq. */
  head: Hash
  balances: AssetAmount[]
  /** Advisory, ms since epoch. */
  time: number
  /** First 8 bytes of the signing device's public key. */
  signer: Uint8Array
}

export interface SignedTagState {
  state: TagCardState
  signature: Uint8Array
  bytes: Uint8Array
}

function unsignedBytes(s: TagCardState): Uint8Array {
  if (cardKindOf(s.card) !== 'tag') throw new LedgerRuleError('card-kind', 'tag states are for tag cards')
  if (s.balances.length > MAX_ASSETS) throw new LedgerDecodeError('too-many', 'assets in a tag state')
  const w = new Writer()
  w.u8(TAG_STATE_VERSION).bytes(s.card).uint(s.cardSeq).fixed(s.head, 32).uint(s.time).fixed(s.signer, 8)
  const sorted = [...s.balances].sort((a, b) => assetRef(a.asset) - assetRef(b.asset))
  w.u8(sorted.length)
  for (const b of sorted) w.u32be(assetRef(b.asset)).int(b.amount)
  return w.finish()
}

function message(unsigned: Uint8Array): Uint8Array {
  return concatBytes(TAG_STATE_DOMAIN, sha256(unsigned))
}

/** Sign a card state with a device key (the till writing the card). */
export async function signTagState(
  state: Omit<TagCardState, 'signer'>,
  device: Signer,
): Promise<SignedTagState> {
  const full: TagCardState = { ...state, signer: device.publicKey.slice(0, 8) }
  const unsigned = unsignedBytes(full)
  const signature = await device.sign(message(unsigned))
  const bytes = concatBytes(unsigned, signature)
  if (bytes.length > TAG_STATE_MAX_BYTES)
    throw new LedgerDecodeError('too-long', `tag state of ${bytes.length} bytes > ${TAG_STATE_MAX_BYTES}`)
  return { state: full, signature, bytes }
}

/** Decode; resolveAsset maps an asset reference back to its id (unknown: 'unknown-asset'). */
export function decodeTagState(
  bytes: Uint8Array,
  resolveAsset: (ref: number) => string | undefined,
): { state: TagCardState; signature: Uint8Array; unsigned: Uint8Array } {
  if (bytes.length > TAG_STATE_MAX_BYTES) throw new LedgerDecodeError('too-long', `${bytes.length} bytes`)
  const r = new Reader(bytes)
  const version = r.u8()
  if (version !== TAG_STATE_VERSION) throw new LedgerDecodeError('unknown-format', `tag state v${version}`)
  const card = r.bytes(11)
  if (card[0] !== 0x02 || card.length < 5) throw new LedgerDecodeError('bad-card-id', 'not a tag card id')
  const cardSeq = r.uint()
  const head = r.fixed(32)
  const time = r.uint()
  const signer = r.fixed(8)
  const n = r.u8()
  if (n > MAX_ASSETS) throw new LedgerDecodeError('too-many', 'assets in a tag state')
  const balances: AssetAmount[] = []
  let lastRef = -1
  for (let i = 0; i < n; i++) {
    const ref = r.u32be()
    if (ref <= lastRef) throw new LedgerDecodeError('non-canonical', 'asset references out of order')
    lastRef = ref
    const amount = r.int()
    const asset = resolveAsset(ref)
    if (asset === undefined) throw new LedgerRuleError('unknown-asset', `asset reference ${ref.toString(16)}`)
    balances.push({ asset, amount })
  }
  const unsigned = bytes.subarray(0, r.pos)
  const signature = r.fixed(64)
  r.end()
  return { state: { card, cardSeq, head, balances, time, signer }, signature, unsigned }
}

/**
 * The validator the tag-card driver injects: decodes a slot's bytes and checks that a certified
 * cashier/admin device of an admitted venue signed it. Throws LedgerDecodeError / LedgerRuleError.
 */
export async function verifyTagState(bytes: Uint8Array, index: LedgerIndex): Promise<TagCardState> {
  const trust = index.trustState()
  const { state, signature, unsigned } = decodeTagState(bytes, (ref) => trust.assetsByRef.get(ref))
  const deviceKey = trust.devicesByShortId.get(keyOf(state.signer))
  const device = deviceKey ? trust.devices.get(deviceKey) : undefined
  if (!device || !(device.roles.has('cashier') || device.roles.has('admin')))
    throw new LedgerRuleError('tag-signer', `signer ${toHex(state.signer)} is not a certified till`)
  // a tag state carries no deviceSeq, so nothing a revoked (maybe stolen) till wrote can be told apart
  if (device.cutoff !== Number.POSITIVE_INFINITY)
    throw new LedgerRuleError('device-revoked', `signer ${toHex(state.signer)} is revoked`)
  if (!(await verifySignature(device.device, message(unsigned), signature)))
    throw new LedgerRuleError('signature', 'tag state signature does not verify')
  return state
}

/** Of the valid states in the two slots, the current one is the highest cardSeq. */
export function pickCurrentTagState(states: Array<TagCardState | null | undefined>): TagCardState | null {
  let best: TagCardState | null = null
  for (const s of states) if (s && (!best || s.cardSeq > best.cardSeq)) best = s
  return best
}

export type PresentedVerdict =
  /** The state matches the newest this index knows. */
  | { action: 'current' }
  /** Newer than anything known here (records not synced yet): adopt it for the next record. */
  | { action: 'adopt' }

/**
 * Rules for a presented (verified) tag state against the index's knowledge of the card:
 * older than the newest known: 'tag-rollback'; same cardSeq, other head: 'tag-fork'; newer: adopt.
 */
export function checkPresentedTagState(state: TagCardState, index: LedgerIndex): PresentedVerdict {
  const known = index.card(state.card)
  if (!known || known.cardSeq === 0) return adopt(state, index)
  if (state.cardSeq < known.cardSeq)
    throw new LedgerRuleError(
      'tag-rollback',
      `card shows cardSeq ${state.cardSeq}, newest known is ${known.cardSeq}`,
    )
  if (state.cardSeq === known.cardSeq) {
    if (known.head !== null && bytesEqual(state.head, fromHexStrict(known.head))) return { action: 'current' }
    throw new LedgerRuleError('tag-fork', `cardSeq ${state.cardSeq} with another head than the one known`)
  }
  return adopt(state, index)
}

/** A newer state is adopted only within the federation's offline ceiling for tag cards. */
function adopt(state: TagCardState, index: LedgerIndex): PresentedVerdict {
  const ceiling = offlineCeiling(index.trustState(), 'tag', state.time)
  for (const b of state.balances)
    if (b.amount > ceiling)
      throw new LedgerRuleError('offline-ceiling', `${b.asset} ${b.amount} > ${ceiling}`)
  return { action: 'adopt' }
}

function fromHexStrict(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}
