// Staff card driver. A staff card is a signing card (same applet) whose public key the venue has certified
// as staff; the venue doc's staff-card list is injected as a StaffDirectory. Opening and closing a till
// session are both signed by the card with its monotonic counter, so a session proof cannot be replayed
// or forged by the till, and a copied UID is worthless (it is the key, not the UID, that counts).
import { createHash } from 'node:crypto'
import { equalBytes } from '../apdu.ts'
import { NotStaffCardError } from '../errors.ts'
import type { CardChannel } from '../transport.ts'
import { SigningCardDriver } from './signing-card.ts'

export interface StaffMember {
  /** Display name or staff id as certified by the venue. */
  name: string
  roles: string[]
}

export interface StaffDirectory {
  /** The certified staff member for this card key, or undefined if the card is not a staff card. */
  lookup(publicKey: Uint8Array): StaffMember | undefined | Promise<StaffMember | undefined>
}

export interface TillSessionProof {
  action: 'open' | 'close'
  till: string
  staffKey: Uint8Array
  cardSeq: number
  /** SHA-256 of the session message the card signed (see sessionMessageHash). */
  messageHash: Uint8Array
  signature: Uint8Array
}

export interface TillSession {
  till: string
  staff: StaffMember
  opened: TillSessionProof
}

const SESSION_PREFIX = new TextEncoder().encode('lakou/till-session/v1')

/** Hash of "lakou/till-session/v1" || action (0 open, 1 close) || till id || (close: the open hash). */
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

export class StaffCardDriver extends SigningCardDriver {
  override readonly kind = 'staff'

  constructor(private readonly directory: StaffDirectory) {
    super()
  }

  /** Checks the card is certified staff and has it sign the opening of a session on this till. */
  async openSession(channel: CardChannel, till: string): Promise<TillSession> {
    const { publicKey, counter } = await this.getPublicKey(channel)
    const staff = await this.directory.lookup(publicKey)
    if (!staff) throw new NotStaffCardError('this card is not certified as a staff card by the venue')
    const opened = await this.proof(channel, 'open', till, publicKey, counter + 1)
    return { till, staff, opened }
  }

  /** Closes a session: only the card that opened it can, and it signs the close, chained to the open. */
  async closeSession(channel: CardChannel, session: TillSession): Promise<TillSessionProof> {
    const { publicKey, counter } = await this.getPublicKey(channel)
    if (!equalBytes(publicKey, session.opened.staffKey)) {
      throw new NotStaffCardError('only the staff card that opened this session can close it')
    }
    return this.proof(channel, 'close', session.till, publicKey, counter + 1, session.opened.messageHash)
  }

  private async proof(
    channel: CardChannel,
    action: 'open' | 'close',
    till: string,
    staffKey: Uint8Array,
    cardSeq: number,
    openHash?: Uint8Array,
  ): Promise<TillSessionProof> {
    const messageHash = sessionMessageHash(action, till, openHash)
    const signature = await this.sign(channel, cardSeq, messageHash)
    return { action, till, staffKey, cardSeq, messageHash, signature }
  }
}
