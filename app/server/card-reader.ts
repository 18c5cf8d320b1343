// The card on the reader, as the service sees it. The demo taps emulated cards from the fixture
// federation; a hardware-backed port (hardware/sim or PC/SC) implements the same interface.
import type { StaffDirectory, TillSession, TillSessionProof } from '../../hardware/mod.ts'
import { toHex } from '../../ledger/bytes.ts'
import type { CardSigner } from '../../ledger/sign.ts'
import type { CardId } from '../../ledger/types.ts'
import type { ReaderCard } from '../shared/protocol.ts'
import { CardNotPresentError, NotFoundError } from './errors.ts'

export interface PresentedCard {
  cardId: string
  card: CardId
  kind: ReaderCard['kind']
  label: string
  /** Present for signing cards: the card signs its chain positions itself. */
  signer?: CardSigner
  /** Tag cards: cardSeq of the signed state read from (or last written to) the card. */
  tagCardSeq?: number
}

export interface CardReaderPort {
  /** Cards the UI may tap (demo only; empty for a hardware reader). */
  tappable(): ReaderCard[]
  tap(cardId: string): Promise<PresentedCard>
  remove(): Promise<void>
  present(): PresentedCard | undefined
  /** The card must be on the reader now (payments, top-ups). */
  require(cardId: string): PresentedCard
  onChange(listener: (card: PresentedCard | undefined) => void): () => void
  /** After a record on the present tag card: write its new signed state to the card. */
  recorded?(
    cardId: string,
    state: { card: CardId; cardSeq: number; head: Uint8Array; balances: { asset: string; amount: number }[] },
  ): Promise<void>
  /** Opens a till session with the staff card on the reader (hardware's StaffCardDriver: signed proofs). */
  openStaffSession?(cardId: string, till: string, directory: StaffDirectory): Promise<TillSession>
  /** Closes it with the card on the reader; only the card that opened may (NotStaffCardError). */
  closeStaffSession?(session: TillSession, directory: StaffDirectory): Promise<TillSessionProof>
  start?(): Promise<void>
  stop?(): Promise<void>
}

export interface EmulatedCard {
  card: CardId
  kind: ReaderCard['kind']
  label: string
  signer?: CardSigner
}

export class EmulatedCardReader implements CardReaderPort {
  private current: PresentedCard | undefined
  private readonly listeners = new Set<(card: PresentedCard | undefined) => void>()
  private readonly cards: PresentedCard[]

  constructor(cards: EmulatedCard[]) {
    this.cards = cards.map((c) => ({ ...c, cardId: toHex(c.card) }))
  }

  tappable(): ReaderCard[] {
    return this.cards.map(({ cardId, label, kind }) => ({ cardId, label, kind }))
  }

  async tap(cardId: string): Promise<PresentedCard> {
    const card = this.cards.find((c) => c.cardId === cardId)
    if (!card) throw new NotFoundError(`card ${cardId}`)
    this.current = card
    for (const l of this.listeners) l(card)
    return card
  }

  async remove(): Promise<void> {
    this.current = undefined
    for (const l of this.listeners) l(undefined)
  }

  present(): PresentedCard | undefined {
    return this.current
  }

  require(cardId: string): PresentedCard {
    if (this.current?.cardId !== cardId)
      throw new CardNotPresentError(`card ${cardId.slice(0, 12)} is not on the reader`)
    return this.current
  }

  onChange(listener: (card: PresentedCard | undefined) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}
