// A virtual card plugged into pcscd's vsmartcard "vpcd" reader driver. vpcd listens on 127.0.0.1 (35963 for
// reader "Virtual PCD 00 00", 35964 for "00 01"); the card is a TCP client. Every message is a 2-byte
// big-endian length then the payload: a 1-byte payload is control (0 power off, 1 power on, 2 reset,
// 4 "send your ATR"), anything longer is a command APDU answered with the response APDU.
// The card is in the field while the connection is open: connect = present, close = remove.
import { connect, type Socket } from 'node:net'
import { CardTornError, type VirtualCard } from '../cards/virtual-card.ts'

export const VPCD_PORTS = [35963, 35964] as const

export interface VpcdCardOptions {
  port?: number
  host?: string
}

export class VpcdCardConnection {
  readonly port: number
  readonly host: string
  /** Command APDUs answered since the card was presented. */
  apdus = 0
  /**
   * Test hook: the card leaves the field when this many more command APDUs have arrived (the last one is
   * never answered). undefined: never.
   */
  tearAfterApdus: number | undefined
  private socket: Socket | undefined
  private pending: Buffer = Buffer.alloc(0)
  private closed: Promise<void> | undefined

  constructor(
    readonly card: VirtualCard,
    options: VpcdCardOptions = {},
  ) {
    this.port = options.port ?? VPCD_PORTS[0]
    this.host = options.host ?? '127.0.0.1'
  }

  get present(): boolean {
    return this.socket !== undefined && !this.socket.destroyed
  }

  /** Puts the card in the reader's field (opens the connection to vpcd). */
  async insert(): Promise<void> {
    if (this.present) return
    this.apdus = 0
    this.pending = Buffer.alloc(0)
    const socket = connect({ port: this.port, host: this.host, noDelay: true })
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    socket.on('error', () => socket.destroy())
    socket.on('data', (chunk) => this.onData(socket, chunk))
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()))
    this.socket = socket
  }

  /** Takes the card out of the field (closes the connection). */
  async remove(): Promise<void> {
    const socket = this.socket
    if (!socket) return
    this.socket = undefined
    socket.destroy()
    await this.closed
    this.card.reset()
  }

  private onData(socket: Socket, chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk
    while (this.pending.length >= 2) {
      const length = this.pending.readUInt16BE(0)
      if (this.pending.length < 2 + length) return
      const payload = new Uint8Array(this.pending.subarray(2, 2 + length))
      this.pending = this.pending.subarray(2 + length)
      const reply = this.handle(socket, payload)
      if (socket.destroyed) return
      if (reply) socket.write(frame(reply))
    }
  }

  private handle(socket: Socket, payload: Uint8Array): Uint8Array | undefined {
    if (payload.length === 1) {
      const control = payload[0]
      if (control === 4) return this.card.atr
      if (control === 0 || control === 1 || control === 2) this.card.reset()
      return undefined
    }
    if (this.tearAfterApdus !== undefined && this.tearAfterApdus-- <= 0) {
      this.tearAfterApdus = undefined
      this.dropOut(socket)
      return undefined
    }
    try {
      const response = this.card.transmit(payload)
      this.apdus++
      return response
    } catch (err) {
      if (!(err instanceof CardTornError)) throw err
      this.dropOut(socket)
      return undefined
    }
  }

  /** The card leaves the field in the middle of a command: no answer, connection closed. */
  private dropOut(socket: Socket): void {
    if (this.socket === socket) this.socket = undefined
    socket.destroy()
    this.card.reset()
  }
}

function frame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(2 + payload.length)
  out.writeUInt16BE(payload.length, 0)
  out.set(payload, 2)
  return out
}
