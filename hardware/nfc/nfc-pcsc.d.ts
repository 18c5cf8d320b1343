// Minimal types for the parts of nfc-pcsc 0.8 that Lakou uses (the package ships none).
declare module 'nfc-pcsc' {
  import { EventEmitter } from 'node:events'

  export const TAG_ISO_14443_3 = 'TAG_ISO_14443_3'
  export const TAG_ISO_14443_4 = 'TAG_ISO_14443_4'

  export interface NfcCard {
    atr?: Buffer
    standard?: 'TAG_ISO_14443_3' | 'TAG_ISO_14443_4'
    type?: string
    uid?: string
    data?: Buffer
  }

  export class Reader extends EventEmitter {
    readonly name: string
    autoProcessing: boolean
    aid: string | Buffer | ((card: NfcCard) => Buffer) | null
    card: NfcCard | null
    transmit(data: Buffer, responseMaxLength: number): Promise<Buffer>
    close(): void
    on(event: 'card', listener: (card: NfcCard) => void): this
    on(event: 'card.off', listener: (card: NfcCard) => void): this
    on(event: 'error', listener: (err: Error) => void): this
    on(event: 'end', listener: () => void): this
  }

  export class NFC extends EventEmitter {
    constructor(logger?: unknown)
    close(): void
    on(event: 'reader', listener: (reader: Reader) => void): this
    on(event: 'error', listener: (err: Error) => void): this
  }
}
