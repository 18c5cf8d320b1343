// The PC/SC reader service over nfc-pcsc. Never constructs nfc-pcsc while pcscd is absent (it busy-loops
// the CPU then), recreates it after pcscd restarts (its RPC transport error is final), attaches an error
// handler to every reader, and turns everything into typed events. It never throws into the node.
import { EventEmitter } from 'node:events'
import type { NfcCard, NFC as NfcType, Reader } from 'nfc-pcsc'
import { Channel, identify } from '../channel.ts'
import { CardRemovedError, NfcLibraryUnavailableError, ReaderError } from '../errors.ts'
import { isPcscdReady } from '../pcscd/pcscd.ts'
import type { CardChannel, CardReaderService, ReaderServiceEvents } from '../transport.ts'

type NfcConstructor = new (logger?: unknown) => NfcType

/** Loads nfc-pcsc (an optional dependency with a native addon); undefined when it cannot load here. */
export async function loadNfcPcsc(): Promise<NfcConstructor | undefined> {
  try {
    const mod = (await import('nfc-pcsc')) as unknown as {
      NFC?: NfcConstructor
      default?: { NFC?: NfcConstructor }
    }
    return mod.NFC ?? mod.default?.NFC
  } catch {
    return undefined
  }
}

export interface NfcReaderServiceOptions {
  /** How often to look for pcscd (socket file + process) while it is absent. */
  pollMs?: number
  /** Tests inject the constructor; default: nfc-pcsc loaded dynamically. */
  nfcConstructor?: NfcConstructor
  /** Override of the pcscd readiness probe (tests). */
  pcscdReady?: () => boolean
}

interface ReaderEntry {
  reader: Reader
  channel: Channel | undefined
  /** True once card-presented was emitted for the channel. */
  announced: boolean
}

export class NfcReaderService extends EventEmitter<ReaderServiceEvents> implements CardReaderService {
  private nfc: NfcType | undefined
  private readonly entries = new Map<string, ReaderEntry>()
  private timer: NodeJS.Timeout | undefined
  private running = false
  private readonly pollMs: number
  private readonly pcscdReady: () => boolean
  private nfcConstructor: NfcConstructor | undefined
  /** How many times nfc-pcsc was (re)created: 1 after a clean start, +1 per pcscd restart. */
  generation = 0

  constructor(private readonly options: NfcReaderServiceOptions = {}) {
    super()
    this.pollMs = options.pollMs ?? 500
    this.pcscdReady = options.pcscdReady ?? isPcscdReady
  }

  async start(): Promise<void> {
    if (this.running) return
    this.nfcConstructor = this.options.nfcConstructor ?? (await loadNfcPcsc())
    if (!this.nfcConstructor) {
      this.fail(
        new NfcLibraryUnavailableError('nfc-pcsc could not be loaded (libpcsclite-dev missing at install?)'),
      )
      return
    }
    this.running = true
    this.tick()
  }

  async stop(): Promise<void> {
    this.running = false
    clearTimeout(this.timer)
    this.timer = undefined
    this.teardown()
  }

  readers(): string[] {
    return [...this.entries.keys()]
  }

  cardIn(reader: string): CardChannel | undefined {
    const e = this.entries.get(reader)
    return e?.announced ? e.channel : undefined
  }

  /** Creates nfc-pcsc when pcscd is there; polls (cheap file checks) until it is. */
  private tick(): void {
    if (!this.running) return
    if (!this.nfc && this.pcscdReady()) this.create()
    this.timer = setTimeout(() => this.tick(), this.pollMs)
    this.timer.unref()
  }

  private create(): void {
    try {
      const nfc = new this.nfcConstructor!()
      this.nfc = nfc
      this.generation++
      nfc.on('reader', (reader) => this.onReader(nfc, reader))
      nfc.on('error', (err) => {
        if (this.nfc !== nfc) return
        // After an RPC transport error (pcscd stopped or restarted) nfc-pcsc never recovers: drop it, and
        // the next tick recreates it once pcscd is back.
        this.fail(new ReaderError(undefined, `PC/SC error: ${err.message}`, { cause: err }))
        this.teardown()
      })
    } catch (err) {
      this.nfc = undefined
      this.fail(
        new ReaderError(undefined, `could not create nfc-pcsc: ${(err as Error).message}`, { cause: err }),
      )
    }
  }

  private teardown(): void {
    const nfc = this.nfc
    this.nfc = undefined
    for (const name of [...this.entries.keys()]) this.detach(name)
    if (nfc) {
      nfc.removeAllListeners('reader')
      nfc.on('error', () => {})
      try {
        nfc.close()
      } catch {
        // already closed by the failure
      }
    }
  }

  private onReader(nfc: NfcType, reader: Reader): void {
    if (this.nfc !== nfc) return
    const name = reader.name
    reader.autoProcessing = false
    const entry: ReaderEntry = { reader, channel: undefined, announced: false }
    this.entries.set(name, entry)
    reader.on('error', (err) => {
      if (this.entries.get(name) !== entry) return
      this.fail(new ReaderError(name, `reader ${name}: ${err.message}`, { cause: err }))
    })
    reader.on('end', () => {
      if (this.entries.get(name) === entry) this.detach(name)
    })
    reader.on('card', (card) => this.onCard(entry, card))
    reader.on('card.off', () => this.onCardOff(entry))
    this.emit('reader-attached', { reader: name })
  }

  private detach(name: string): void {
    const entry = this.entries.get(name)
    if (!entry) return
    this.onCardOff(entry)
    this.entries.delete(name)
    entry.reader.removeAllListeners('card')
    entry.reader.removeAllListeners('card.off')
    this.emit('reader-detached', { reader: name })
  }

  private onCard(entry: ReaderEntry, card: NfcCard): void {
    // A new card without a card.off in between (fast swap): the previous one is gone.
    this.onCardOff(entry)
    const name = entry.reader.name
    const reader = entry.reader
    const channel = new Channel(name, new Uint8Array(card.atr ?? []), async (apdu) => {
      const response = await reader.transmit(Buffer.from(apdu), 258)
      return new Uint8Array(response)
    })
    entry.channel = channel
    identify(channel).then(
      () => {
        if (entry.channel !== channel || !channel.present) return
        entry.announced = true
        this.emit('card-presented', { reader: name, uid: channel.uid, kind: channel.kind, channel })
      },
      (err: unknown) => {
        // A card pulled during identification is not worth an error event.
        if (err instanceof CardRemovedError) return
        this.fail(err instanceof Error ? err : new ReaderError(name, String(err)))
      },
    )
  }

  private onCardOff(entry: ReaderEntry): void {
    const channel = entry.channel
    if (!channel) return
    channel.markRemoved()
    entry.channel = undefined
    if (entry.announced) {
      entry.announced = false
      this.emit('card-removed', { reader: entry.reader.name, uid: channel.uid })
    }
  }

  /** Errors are events, never exceptions: with no listener they are only logged. */
  private fail(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err)
    else console.warn(`lakou nfc: ${err.name}: ${err.message}`)
  }
}
