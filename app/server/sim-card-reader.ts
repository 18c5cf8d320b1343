// The demo's card reader on the hardware part's in-process SimulatedReader, with the same virtual cards
// and drivers as the PC/SC path: a signing card signs its chain positions through the applet (SIGN APDU,
// counter enforced by the card), and a tag card gets its new device-signed state written to slots A/B
// after each record on it. Tapping a tag card reads its state back, verified by the ledger.

import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { openCardFile } from '../../hardware/cards/card-file.ts'
import { VirtualNtag215 } from '../../hardware/cards/ntag215.ts'
import { VirtualSigningCard } from '../../hardware/cards/signing-applet.ts'
import type { VirtualCard } from '../../hardware/cards/virtual-card.ts'
import { SigningCardDriver } from '../../hardware/drivers/signing-card.ts'
import {
  StaffCardDriver,
  type StaffDirectory,
  type TillSession,
  type TillSessionProof,
} from '../../hardware/drivers/staff-card.ts'
import { TagCardDriver } from '../../hardware/drivers/tag-card.ts'
import { SimulatedReader } from '../../hardware/sim/simulated-reader.ts'
import type { CardChannel } from '../../hardware/transport.ts'
import { type CardId, type CardSigner, sha256, signingCardId, tagCardId, toHex } from '../../ledger/mod.ts'
import type { ReaderCard } from '../shared/protocol.ts'
import type { CardReaderPort, PresentedCard } from './card-reader.ts'
import { CardNotPresentError, NotFoundError } from './errors.ts'

export interface TagStateCodec<T> {
  /** The ledger's check of a state read from a tag (signature by a certified till, etc.). */
  verify(bytes: Uint8Array): Promise<T>
  /** Signs the card's new state with this device's key. */
  sign(state: {
    card: CardId
    cardSeq: number
    head: Uint8Array
    balances: { asset: string; amount: number }[]
  }): Promise<Uint8Array>
}

export interface DemoCard {
  label: string
  kind: ReaderCard['kind']
  card: CardId
  /** The card as it is now: from its card file when it has one (another till may have written it). */
  open(): { virtual: VirtualCard; save(): void }
}

/**
 * A card kept in a card file (hardware's format, so `lakou vcard` can put the same card on a PC/SC reader).
 * The file is created once with the deterministic demo content, then always read back: tag memory and the
 * signing card's counter survive restarts, and the counter is written before each signature leaves the card.
 */
function fileCard(path: string, kind: 'tag' | 'signing', initial: VirtualNtag215 | VirtualSigningCard) {
  if (!existsSync(path)) {
    const content =
      initial instanceof VirtualSigningCard
        ? (({ seed, uid, counter }) => ({ kind, seed: toHex(seed), uid: toHex(uid), counter }))(
            initial.snapshot(),
          )
        : { kind, image: toHex(initial.image()) }
    writeFileSync(`${path}.tmp`, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 })
    renameSync(`${path}.tmp`, path)
  }
  return () => {
    const { card, save } = openCardFile(path, kind)
    return { virtual: card, save }
  }
}

/**
 * Deterministic demo cards: the same seed gives the same card ids on every till of the demo. With
 * `cardsDir` each card lives in a file there (shared by the tills of one demo folder, like a physical card
 * carried from one till to the other); without it, in memory only.
 */
export function demoVirtualCards(seed = 'lakou-demo', cardsDir?: string): DemoCard[] {
  const bytes = (label: string, n: number) => sha256(new TextEncoder().encode(`${seed}/${label}`)).slice(0, n)
  const uid = (label: string) => Uint8Array.of(0x04, ...bytes(label, 6))
  if (cardsDir) mkdirSync(cardsDir, { recursive: true })
  const opener = (name: string, kind: 'tag' | 'signing', virtual: VirtualNtag215 | VirtualSigningCard) =>
    cardsDir ? fileCard(join(cardsDir, `${name}.json`), kind, virtual) : () => ({ virtual, save() {} })
  const fileName = (label: string) =>
    label
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/-$/, '')
  const tag = (label: string, kind: 'tag' | 'staff'): DemoCard => {
    const virtual = new VirtualNtag215({ uid: uid(label) })
    return { label, kind, card: tagCardId(virtual.uid), open: opener(fileName(label), 'tag', virtual) }
  }
  const signing = (label: string): DemoCard => {
    const virtual = new VirtualSigningCard({
      state: { seed: bytes(`signing/${label}`, 32), counter: 0, uid: uid(label) },
    })
    return {
      label,
      kind: 'signing',
      card: signingCardId(virtual.publicKey),
      open: opener(fileName(label), 'signing', virtual),
    }
  }
  return [
    tag('Camille (équipe)', 'staff'),
    signing('Alex'),
    signing('Sam'),
    tag('Lou', 'tag'),
    tag('Noa', 'tag'),
  ]
}

export class SimulatedCardReader<T extends { cardSeq: number }> implements CardReaderPort {
  private readonly reader = new SimulatedReader({ readers: ['Lecteur démo'] })
  private readonly signingDriver = new SigningCardDriver()
  private readonly tagDriver: TagCardDriver<T>
  private readonly listeners = new Set<(card: PresentedCard | undefined) => void>()
  private readonly cards: (DemoCard & { cardId: string })[]
  private current: { presented: PresentedCard; channel: CardChannel; save: () => void } | undefined

  constructor(
    cards: DemoCard[],
    private readonly codec: TagStateCodec<T>,
  ) {
    this.cards = cards.map((c) => ({ ...c, cardId: toHex(c.card) }))
    this.tagDriver = new TagCardDriver<T>({ validator: { verify: (bytes) => codec.verify(bytes) } })
    this.reader.on('card-removed', () => {
      this.current = undefined
      for (const l of this.listeners) l(undefined)
    })
  }

  async start(): Promise<void> {
    await this.reader.start()
  }

  async stop(): Promise<void> {
    await this.reader.stop()
  }

  tappable(): ReaderCard[] {
    return this.cards.map(({ cardId, label, kind }) => ({ cardId, label, kind }))
  }

  async tap(cardId: string): Promise<PresentedCard> {
    const card = this.cards.find((c) => c.cardId === cardId)
    if (!card) throw new NotFoundError(`card ${cardId}`)
    const { virtual, save } = card.open()
    const channel = await this.reader.present(virtual)
    const presented: PresentedCard = { cardId, card: card.card, kind: card.kind, label: card.label }
    if (card.kind === 'signing') {
      const driver = this.signingDriver
      const signer: CardSigner = {
        card: card.card,
        signCardRecord: (cardSeq, hash) => driver.sign(channel, cardSeq, hash),
      }
      presented.signer = signer
    } else if (card.kind === 'tag') {
      const { current } = await this.tagDriver.read(channel)
      if (current) presented.tagCardSeq = current.state.cardSeq
    }
    this.current = { presented, channel, save }
    for (const l of this.listeners) l(presented)
    return presented
  }

  async remove(): Promise<void> {
    await this.reader.remove()
  }

  present(): PresentedCard | undefined {
    return this.current?.presented
  }

  require(cardId: string): PresentedCard {
    if (this.current?.presented.cardId !== cardId)
      throw new CardNotPresentError(`card ${cardId.slice(0, 12)} is not on the reader`)
    return this.current.presented
  }

  /** After a record on a tag card: write its new signed state (older slot, read back by the driver). */
  async recorded(cardId: string, state: Parameters<TagStateCodec<T>['sign']>[0]): Promise<void> {
    const current = this.current
    if (!current || current.presented.cardId !== cardId || current.presented.kind !== 'tag') return
    await this.tagDriver.write(current.channel, await this.codec.sign(state))
    current.save()
    current.presented.tagCardSeq = state.cardSeq
  }

  async openStaffSession(cardId: string, till: string, directory: StaffDirectory): Promise<TillSession> {
    this.require(cardId)
    return new StaffCardDriver(directory).openSession(this.current!.channel, till)
  }

  async closeStaffSession(session: TillSession, directory: StaffDirectory): Promise<TillSessionProof> {
    const current = this.current
    if (!current) throw new CardNotPresentError('tap the staff card that opened the session')
    return new StaffCardDriver(directory).closeSession(current.channel, session)
  }

  onChange(listener: (card: PresentedCard | undefined) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}
