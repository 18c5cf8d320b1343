// Signing and building signed bytes: statements (issuer key), records (device key + signing cards),
// the signing-card message of the card contract, and DeviceChainWriter (a till's next record).
import { concatBytes, ZERO_HASH } from './bytes.ts'
import {
  cardKindOf,
  decodeSigned,
  encodeRecordUnsigned,
  encodeSigned,
  encodeStatementUnsigned,
  hashOfUnsigned,
  SIGNING_CARD_PREFIX,
} from './codec.ts'
import { type Signer, verifySignature } from './crypto.ts'
import { LedgerInputError, LedgerRuleError } from './errors.ts'
import type { CardId, ChainPosition, Hash, LedgerRecord, RecordBody, Statement } from './types.ts'

const ascii = (s: string) => new TextEncoder().encode(s)
export const DEVICE_SIG_DOMAIN = ascii('lakou/device-sig/v1')
export const STATEMENT_SIG_DOMAIN = ascii('lakou/statement-sig/v1')
export const CARD_SIG_DOMAIN = ascii('lakou/card-sig/v1')
export const MAX_CARD_SEQ = 0xffffffff

export function deviceSignatureMessage(hash: Hash): Uint8Array {
  return concatBytes(DEVICE_SIG_DOMAIN, hash)
}

/** deviceSignatureMessage of a hash given as a key string (keyOf's form). */
export function deviceSignatureMessageOfKey(hashKey: string): Uint8Array {
  const d = DEVICE_SIG_DOMAIN.length
  const out = new Uint8Array(d + hashKey.length)
  out.set(DEVICE_SIG_DOMAIN)
  for (let i = 0; i < hashKey.length; i++) out[d + i] = hashKey.charCodeAt(i)
  return out
}

export function statementSignatureMessage(hash: Hash): Uint8Array {
  return concatBytes(STATEMENT_SIG_DOMAIN, hash)
}

/** The signing-card contract: "lakou/card-sig/v1" || cardSeq (4 bytes BE) || recordHash. */
export function cardSignatureMessage(cardSeq: number, recordHash: Hash): Uint8Array {
  if (!Number.isInteger(cardSeq) || cardSeq < 1 || cardSeq > MAX_CARD_SEQ)
    throw new LedgerRuleError('card-counter', `cardSeq ${cardSeq} outside 1..${MAX_CARD_SEQ}`)
  const d = CARD_SIG_DOMAIN.length
  const out = new Uint8Array(d + 4 + 32)
  out.set(CARD_SIG_DOMAIN)
  out[d] = cardSeq >>> 24
  out[d + 1] = (cardSeq >>> 16) & 0xff
  out[d + 2] = (cardSeq >>> 8) & 0xff
  out[d + 3] = cardSeq & 0xff
  out.set(recordHash, d + 4)
  return out
}

/** The chain positions of a record, in layout order (card signatures follow this order). */
export function chainPositions(rec: LedgerRecord): ChainPosition[] {
  switch (rec.kind) {
    case 'top-up':
    case 'refund':
    case 'card-replace':
      return [rec.chain]
    case 'transfer':
      return [rec.chain, rec.to]
    case 'sale':
    case 'void':
      return rec.chain ? [rec.chain] : []
    default:
      return []
  }
}

/** Chain positions that need a signing card's signature. */
export function signingCardPositions(rec: LedgerRecord): ChainPosition[] {
  const chains = chainPositions(rec)
  // the usual record names no signing card: no filtered copy (this runs for every ingested record)
  let any = false
  for (let i = 0; i < chains.length; i++) any ||= chains[i]!.card[0] === SIGNING_CARD_PREFIX
  return any ? chains.filter((c) => cardKindOf(c.card) === 'signing') : NO_POSITIONS
}
const NO_POSITIONS: ChainPosition[] = Object.freeze([]) as unknown as ChainPosition[]

/** A signing card (real applet over PC/SC, or emulated): signs (cardSeq, recordHash) per the contract. */
export interface CardSigner {
  readonly card: CardId
  signCardRecord(cardSeq: number, recordHash: Hash): Promise<Uint8Array>
}

/**
 * In-memory signing card with the applet's counter rule (refuses cardSeq <= counter), for tests,
 * fixtures and the embedded demo. The PC/SC card in hardware/ implements the same interface.
 */
export class EmulatedSigningCard implements CardSigner {
  readonly card: CardId
  counter = 0
  constructor(private readonly key: Signer) {
    const id = new Uint8Array(33)
    id[0] = 0x01
    id.set(key.publicKey, 1)
    this.card = id
  }
  async signCardRecord(cardSeq: number, recordHash: Hash): Promise<Uint8Array> {
    if (cardSeq <= this.counter)
      throw new LedgerRuleError('card-counter', `card refuses cardSeq ${cardSeq} <= counter ${this.counter}`)
    const message = cardSignatureMessage(cardSeq, recordHash)
    this.counter = cardSeq
    return this.key.sign(message)
  }
}

export async function signStatement(statement: Statement, issuer: Signer): Promise<Uint8Array> {
  if (!sameBytes(statement.issuer, issuer.publicKey))
    throw new LedgerInputError('statement.issuer must be the signer public key')
  const unsigned = encodeStatementUnsigned(statement)
  const hash = hashOfUnsigned(unsigned)
  return encodeSigned(unsigned, [await issuer.sign(statementSignatureMessage(hash))])
}

export interface SignedRecord {
  bytes: Uint8Array
  hash: Hash
  record: LedgerRecord
}

/** Sign a complete record: device signature, then one card signature per signing-card position. */
export async function signRecord(
  record: LedgerRecord,
  device: Signer,
  cards: CardSigner[] = [],
): Promise<SignedRecord> {
  if (!sameBytes(record.device, device.publicKey))
    throw new LedgerInputError('record.device must be the signer public key')
  const unsigned = encodeRecordUnsigned(record)
  const hash = hashOfUnsigned(unsigned)
  const signatures = [await device.sign(deviceSignatureMessage(hash))]
  for (const pos of signingCardPositions(record)) {
    const signer = cards.find((c) => sameBytes(c.card, pos.card))
    if (!signer) throw new LedgerInputError('a signing card in the record did not sign it')
    signatures.push(await signer.signCardRecord(pos.cardSeq, hash))
  }
  return { bytes: encodeSigned(unsigned, signatures), hash, record }
}

/** Verify every signature carried by signed bytes (no trust context: keys come from the bytes). */
export async function verifySignatures(bytes: Uint8Array): Promise<boolean> {
  const d = decodeSigned(bytes)
  if (d.type === 'statement')
    return (
      d.signatures.length === 1 &&
      verifySignature(d.statement.issuer, statementSignatureMessage(d.hash), d.signatures[0]!)
    )
  const positions = signingCardPositions(d.record)
  if (d.signatures.length !== 1 + positions.length) return false
  const checks = [verifySignature(d.record.device, deviceSignatureMessage(d.hash), d.signatures[0]!)]
  for (const [i, p] of positions.entries())
    checks.push(
      verifySignature(p.card.subarray(1), cardSignatureMessage(p.cardSeq, d.hash), d.signatures[i + 1]!),
    )
  return (await Promise.all(checks)).every(Boolean)
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * A till's device chain: fills device, deviceSeq, devicePrev, time and staff, signs, and advances only
 * after signing succeeded (a refused card signature loses nothing). Persist `deviceSeq`/`head` with the
 * records; restore with the constructor options.
 */
export class DeviceChainWriter {
  private seq: number
  private prev: Hash
  staff: CardId
  constructor(
    readonly device: Signer,
    options: { deviceSeq?: number; head?: Hash; staff?: CardId; clock?: () => number } = {},
  ) {
    this.seq = options.deviceSeq ?? 0
    this.prev = options.head ?? ZERO_HASH
    this.staff = options.staff ?? new Uint8Array(0)
    this.clock = options.clock ?? (() => Date.now())
  }
  private readonly clock: () => number

  /** deviceSeq of the last record written (0 before the first). */
  get deviceSeq(): number {
    return this.seq
  }
  /** Hash of the last record written (zeros before the first). */
  get head(): Hash {
    return this.prev
  }

  async append(body: RecordBody, cards: CardSigner[] = []): Promise<SignedRecord> {
    const record = {
      ...body,
      device: this.device.publicKey,
      deviceSeq: this.seq + 1,
      devicePrev: this.prev,
      time: body.time ?? this.clock(),
      staff: body.staff ?? this.staff,
    } as LedgerRecord
    const signed = await signRecord(record, this.device, cards)
    this.seq += 1
    this.prev = signed.hash
    return signed
  }
}
