// Staff card driver: opens and closes a till session. A staff card is a card whose identity the venue has
// certified in a `staff-card` statement (the ledger's card id: a signing card's key or a tag card's UID);
// the venue's list is injected as a StaffDirectory.
//  - On a signing card (recommended) the card signs the open and the close with its monotonic counter: a
//    session proof cannot be forged by the till nor replayed, and copying the UID gives nothing.
//  - On a tag card (cheap; what the demo fixture uses) the UID is the only credential: cloneable, so the
//    proofs carry no signature and venues should prefer signing cards for staff.
import { createHash } from 'node:crypto'
import { equalBytes, getUidApdu, responseData, SW_OK, statusWord } from '../apdu.ts'
import { CardCommandError, NotStaffCardError, WrongCardKindError } from '../errors.ts'
import type { CardChannel } from '../transport.ts'
import type { CardDriver, CardIdentity } from './driver.ts'
import { SigningCardDriver } from './signing-card.ts'

export interface StaffMember {
  /** Display name or staff id as certified by the venue. */
  name: string
  roles: string[]
}

/** How a staff card is named in the venue's certificates (maps to the ledger's signing/tag card ids). */
export interface StaffCardRef {
  kind: 'signing' | 'tag'
  uid: Uint8Array
  /** Present for signing cards: the key is the identity, not the UID. */
  publicKey?: Uint8Array
}

export interface StaffDirectory {
  /** The certified staff member for this card, or undefined if the venue did not certify it. */
  lookup(card: StaffCardRef): StaffMember | undefined | Promise<StaffMember | undefined>
}

export interface TillSessionProof {
  action: 'open' | 'close'
  till: string
  card: StaffCardRef
  /** cardSeq the card signed with (0 for tag cards, which cannot sign). */
  cardSeq: number
  /** SHA-256 of the session message (see sessionMessageHash). */
  messageHash: Uint8Array
  /** The card's signature (signing cards only). */
  signature: Uint8Array | undefined
}

export interface TillSession {
  till: string
  staff: StaffMember
  opened: TillSessionProof
}

const SESSION_PREFIX = new TextEncoder().encode('lakou/till-session/v1')

/** Hash of "lakou/till-session/v1" || action (0 open, 1 close) || u16 len || till id || (close: open hash). */
export function sessionMessageHash(
  action: 'open' | 'close',
  till: string,
  openHash?: Uint8Array,
): Uint8Array {
  const h = createHash('sha256')
  h.update(SESSION_PREFIX)
  h.update(Uint8Array.of(action === 'open' ? 0 : 1))
  const tillBytes = new TextEncoder().encode(till)
  h.update(Uint8Array.of(tillBytes.length >> 8, tillBytes.length & 0xff))
  h.update(tillBytes)
  if (openHash) h.update(openHash)
  return new Uint8Array(h.digest())
}

const sameCard = (a: StaffCardRef, b: StaffCardRef) =>
  a.kind === b.kind &&
  (a.publicKey && b.publicKey
    ? equalBytes(a.publicKey, b.publicKey)
    : !a.publicKey && !b.publicKey && equalBytes(a.uid, b.uid))

export class StaffCardDriver implements CardDriver {
  readonly kind = 'staff'
  readonly accepts = ['signing', 'tag'] as const
  private readonly signing = new SigningCardDriver()

  constructor(private readonly directory: StaffDirectory) {}

  async identify(channel: CardChannel): Promise<CardIdentity> {
    const ref = await this.ref(channel)
    return { kind: 'staff', uid: ref.uid, ...(ref.publicKey ? { publicKey: ref.publicKey } : {}) }
  }

  /** Checks the card is certified staff of the venue and opens a session on this till. */
  async openSession(channel: CardChannel, till: string): Promise<TillSession> {
    const { ref, counter } = await this.refWithCounter(channel)
    const staff = await this.directory.lookup(ref)
    if (!staff) throw new NotStaffCardError('this card is not certified as a staff card by the venue')
    const opened = await this.proof(channel, 'open', till, ref, counter + 1)
    return { till, staff, opened }
  }

  /** Closes a session: only the card that opened it can (a signing card signs the close, chained to the open). */
  async closeSession(channel: CardChannel, session: TillSession): Promise<TillSessionProof> {
    const { ref, counter } = await this.refWithCounter(channel)
    if (!sameCard(ref, session.opened.card)) {
      throw new NotStaffCardError('only the staff card that opened this session can close it')
    }
    return this.proof(channel, 'close', session.till, ref, counter + 1, session.opened.messageHash)
  }

  private async ref(channel: CardChannel): Promise<StaffCardRef> {
    return (await this.refWithCounter(channel)).ref
  }

  private async refWithCounter(channel: CardChannel): Promise<{ ref: StaffCardRef; counter: number }> {
    if (channel.kind === 'tag') {
      // The UID is the whole credential: ask the card again so a card already gone cannot open a session.
      const r = await channel.transmit(getUidApdu())
      if (statusWord(r) !== SW_OK || !equalBytes(responseData(r), channel.uid)) {
        throw new CardCommandError('GET UID', statusWord(r))
      }
      return { ref: { kind: 'tag', uid: channel.uid }, counter: -1 }
    }
    if (channel.kind !== 'signing')
      throw new WrongCardKindError(`a ${channel.kind} card cannot be a staff card`)
    const { publicKey, counter } = await this.signing.getPublicKey(channel)
    return { ref: { kind: 'signing', uid: channel.uid, publicKey }, counter }
  }

  private async proof(
    channel: CardChannel,
    action: 'open' | 'close',
    till: string,
    card: StaffCardRef,
    cardSeq: number,
    openHash?: Uint8Array,
  ): Promise<TillSessionProof> {
    const messageHash = sessionMessageHash(action, till, openHash)
    if (card.kind === 'tag') return { action, till, card, cardSeq: 0, messageHash, signature: undefined }
    const signature = await this.signing.sign(channel, cardSeq, messageHash)
    return { action, till, card, cardSeq, messageHash, signature }
  }
}
