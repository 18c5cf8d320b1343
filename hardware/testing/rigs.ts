// Test rigs: one way to present virtual cards, per transport. The conformance suite runs on each.
import type { EventEmitter } from 'node:events'
import type { VirtualCard } from '../cards/virtual-card.ts'
import { NfcReaderService } from '../nfc/reader-service.ts'
import { SimulatedReader } from '../sim/simulated-reader.ts'
import type { CardChannel, CardReaderService } from '../transport.ts'
import { VPCD_PORTS, VpcdCardConnection } from '../vpcd/vpcd-card.ts'

export interface CardRig {
  readonly name: string
  readonly service: CardReaderService
  start(): Promise<void>
  stop(): Promise<void>
  /** Puts the card on the reader (removing any other) and resolves with its identified channel. */
  present(card: VirtualCard): Promise<CardChannel>
  /** Takes the card off and resolves once the service reported it removed. */
  remove(): Promise<void>
  /** The card leaves the field when this many more APDUs arrive (that one is never answered). */
  tearAfterApdus(count: number): void
}

/** Resolves with the first event that matches, or rejects after timeoutMs (listens continuously). */
export function nextEvent(
  service: CardReaderService,
  event: 'card-presented' | 'card-removed' | 'reader-attached' | 'reader-detached',
  match: (e: { reader: string }) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<void> {
  const emitter = service as unknown as EventEmitter
  return new Promise((resolve, reject) => {
    const listener = (e: { reader: string }) => {
      if (!match(e)) return
      clearTimeout(timer)
      emitter.off(event, listener)
      resolve()
    }
    const timer = setTimeout(() => {
      emitter.off(event, listener)
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${event}`))
    }, timeoutMs)
    emitter.on(event, listener)
  })
}

export class SimRig implements CardRig {
  readonly name = 'simulated reader'
  readonly service = new SimulatedReader()
  async start(): Promise<void> {
    await this.service.start()
  }
  async stop(): Promise<void> {
    await this.service.stop()
  }
  present(card: VirtualCard): Promise<CardChannel> {
    return this.service.present(card)
  }
  remove(): Promise<void> {
    return this.service.remove()
  }
  tearAfterApdus(count: number): void {
    this.service.tearAfterApdus(count)
  }
}

/** Real stack: nfc-pcsc -> libpcsclite -> pcscd -> vpcd driver -> TCP -> the project's virtual card. */
export class PcscdRig implements CardRig {
  readonly name = 'pcscd + vpcd'
  readonly service = new NfcReaderService({ pollMs: 100 })
  readonly reader: string
  private connection: VpcdCardConnection | undefined

  constructor(readonly port: number = VPCD_PORTS[0]) {
    this.reader = `Virtual PCD 00 0${VPCD_PORTS.indexOf(port as 35963)}`
  }

  async start(): Promise<void> {
    const attached = nextEvent(this.service, 'reader-attached', (e) => e.reader === this.reader)
    await this.service.start()
    await attached
  }

  async stop(): Promise<void> {
    await this.remove()
    await this.service.stop()
  }

  async present(card: VirtualCard): Promise<CardChannel> {
    await this.remove()
    const presented = nextEvent(this.service, 'card-presented', (e) => e.reader === this.reader)
    this.connection = new VpcdCardConnection(card, { port: this.port })
    await this.connection.insert()
    await presented
    return this.service.cardIn(this.reader)!
  }

  async remove(): Promise<void> {
    const connection = this.connection
    this.connection = undefined
    const announced = this.service.cardIn(this.reader) !== undefined
    const removed = announced
      ? nextEvent(this.service, 'card-removed', (e) => e.reader === this.reader)
      : undefined
    await connection?.remove()
    await removed
  }

  tearAfterApdus(count: number): void {
    if (this.connection) this.connection.tearAfterApdus = count
  }
}
