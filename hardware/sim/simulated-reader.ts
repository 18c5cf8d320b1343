// In-process simulated reader for the demo and machines without pcscd: the same virtual card logic and
// the same channel/identification code as the PC/SC path, with a "tap" API (present card X, remove).
import { EventEmitter } from 'node:events'
import { CardTornError, type VirtualCard } from '../cards/virtual-card.ts'
import { Channel, identify } from '../channel.ts'
import type { CardChannel, CardReaderService, ReaderServiceEvents } from '../transport.ts'

export interface SimulatedReaderOptions {
  /** Reader names (default one reader, "Simulated Reader 0"). */
  readers?: string[]
  /** Artificial latency per APDU in ms, to make the demo feel like a real reader (default 0). */
  apduLatencyMs?: number
}

interface Slot {
  card: VirtualCard | undefined
  channel: Channel | undefined
  /** Test hook: the card leaves the field when this many more APDUs arrive. */
  tearAfterApdus: number | undefined
}

export class SimulatedReader extends EventEmitter<ReaderServiceEvents> implements CardReaderService {
  private readonly slots = new Map<string, Slot>()
  private readonly names: string[]
  private readonly latency: number
  private running = false

  constructor(options: SimulatedReaderOptions = {}) {
    super()
    this.names = options.readers ?? ['Simulated Reader 0']
    this.latency = options.apduLatencyMs ?? 0
  }

  async start(): Promise<void> {
    if (this.running) return
    this.running = true
    for (const reader of this.names) {
      this.slots.set(reader, { card: undefined, channel: undefined, tearAfterApdus: undefined })
      this.emit('reader-attached', { reader })
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return
    for (const reader of this.names) {
      await this.remove(reader)
      this.slots.delete(reader)
      this.emit('reader-detached', { reader })
    }
    this.running = false
  }

  readers(): string[] {
    return [...this.slots.keys()]
  }

  cardIn(reader: string): CardChannel | undefined {
    return this.slots.get(reader)?.channel
  }

  /** Taps a card on a reader (a card already there is removed first); resolves once it is identified. */
  async present(card: VirtualCard, reader = this.names[0]!): Promise<CardChannel> {
    const slot = this.slot(reader)
    if (slot.card) await this.remove(reader)
    card.reset()
    slot.card = card
    slot.tearAfterApdus = undefined
    const channel = new Channel(reader, card.atr, async (apdu) => {
      if (this.latency > 0) await new Promise((r) => setTimeout(r, this.latency))
      if (slot.channel !== channel) throw new CardTornError('card no longer in the field')
      if (slot.tearAfterApdus !== undefined && slot.tearAfterApdus-- <= 0) {
        this.leave(reader, channel)
        throw new CardTornError('card pulled')
      }
      try {
        return card.transmit(apdu)
      } catch (err) {
        if (err instanceof CardTornError) this.leave(reader, channel)
        throw err
      }
    })
    slot.channel = channel
    await identify(channel)
    this.emit('card-presented', { reader, uid: channel.uid, kind: channel.kind, channel })
    return channel
  }

  /** Takes the card off the reader. */
  async remove(reader = this.names[0]!): Promise<void> {
    const slot = this.slot(reader)
    if (slot.channel) this.leave(reader, slot.channel)
  }

  /** Test hook: the card in this reader is pulled when this many more APDUs arrive (that one unanswered). */
  tearAfterApdus(count: number, reader = this.names[0]!): void {
    this.slot(reader).tearAfterApdus = count
  }

  private leave(reader: string, channel: Channel): void {
    const slot = this.slot(reader)
    if (slot.channel !== channel) return
    slot.channel = undefined
    slot.card?.reset()
    slot.card = undefined
    channel.markRemoved()
    this.emit('card-removed', { reader, uid: channel.uid })
  }

  private slot(reader: string): Slot {
    const slot = this.slots.get(reader)
    if (!slot) throw new RangeError(`no simulated reader named ${reader} (started?)`)
    return slot
  }
}
