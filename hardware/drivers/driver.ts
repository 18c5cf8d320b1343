// The one interface every card driver implements, so the node can route a presented card to the right
// driver and the shared conformance suite can exercise each of them the same way.
import type { CardChannel, CardKind } from '../transport.ts'

export type DriverKind = 'tag' | 'signing' | 'staff'

export interface CardIdentity {
  kind: DriverKind
  uid: Uint8Array
  /** Ed25519 public key of cards that hold one (signing and staff cards). */
  publicKey?: Uint8Array
}

export interface CardDriver {
  readonly kind: DriverKind
  /** The channel kinds this driver can talk to. */
  readonly accepts: readonly CardKind[]
  /** Identifies the card (APDUs only when needed); WrongCardKindError for a card of another kind. */
  identify(channel: CardChannel): Promise<CardIdentity>
}
