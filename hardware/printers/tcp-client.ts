// Raw TCP printer client (port 9100 style): real-time status via DLE EOT, then the job bytes.
import { connect, type Socket } from 'node:net'
import { PrinterUnreachableError } from './errors.ts'
import {
  notReadyStates,
  type PrinterStatus,
  parseStatusReply,
  statusReplyLength,
  statusRequest,
} from './escpos-status.ts'

export interface PrinterAddress {
  readonly host: string
  readonly port?: number
}

export interface PrintAttempt {
  /** True when the bytes were fully written and the printer did not report paper end / cover open. */
  readonly printed: boolean
  readonly status: PrinterStatus
}

/** The boundary between the print queue and a printer. */
export interface PrinterTransport {
  queryStatus(printer: PrinterAddress): Promise<PrinterStatus>
  /** Never throws for printer conditions: they come back as { printed: false, status }. */
  print(printer: PrinterAddress, bytes: Uint8Array): Promise<PrintAttempt>
}

export interface TcpPrinterClientOptions {
  readonly connectTimeoutMs?: number
  /** How long to wait for the DLE EOT reply before calling the status "unknown". */
  readonly statusTimeoutMs?: number
  readonly writeTimeoutMs?: number
  readonly now?: () => number
}

export class TcpPrinterClient implements PrinterTransport {
  readonly #connectTimeoutMs: number
  readonly #statusTimeoutMs: number
  readonly #writeTimeoutMs: number
  readonly #now: () => number

  constructor(options: TcpPrinterClientOptions = {}) {
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 3000
    this.#statusTimeoutMs = options.statusTimeoutMs ?? 500
    this.#writeTimeoutMs = options.writeTimeoutMs ?? 15_000
    this.#now = options.now ?? Date.now
  }

  async queryStatus(printer: PrinterAddress): Promise<PrinterStatus> {
    let socket: Socket
    try {
      socket = await this.#connect(printer)
    } catch (err) {
      return this.#unreachable(err)
    }
    try {
      return await this.#status(socket)
    } finally {
      socket.destroy()
    }
  }

  async print(printer: PrinterAddress, bytes: Uint8Array): Promise<PrintAttempt> {
    let socket: Socket
    try {
      socket = await this.#connect(printer)
    } catch (err) {
      return { printed: false, status: this.#unreachable(err) }
    }
    try {
      const before = await this.#status(socket)
      if (notReadyStates.has(before.state)) return { printed: false, status: before }
      await this.#write(socket, bytes)
      // Paper may run out while the job is sent: ask again, so a half-printed job is printed again.
      // A printer that did not answer before will not answer now: do not wait for it twice.
      const after = before.state === 'unknown' ? before : await this.#status(socket)
      if (notReadyStates.has(after.state)) return { printed: false, status: after }
      await this.#end(socket)
      return { printed: true, status: after }
    } catch (err) {
      return { printed: false, status: this.#unreachable(err) }
    } finally {
      socket.destroy()
    }
  }

  #unreachable(err: unknown): PrinterStatus {
    return { state: 'unreachable', detail: err instanceof Error ? err.message : String(err), at: this.#now() }
  }

  #connect(printer: PrinterAddress): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: printer.host, port: printer.port ?? 9100 })
      socket.setNoDelay(true)
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new PrinterUnreachableError(`connect to ${printer.host}:${printer.port ?? 9100} timed out`))
      }, this.#connectTimeoutMs)
      socket.once('connect', () => {
        clearTimeout(timer)
        socket.removeAllListeners('error')
        socket.on('error', () => {})
        resolve(socket)
      })
      socket.once('error', (err) => {
        clearTimeout(timer)
        socket.destroy()
        reject(new PrinterUnreachableError(`${printer.host}:${printer.port ?? 9100}: ${err.message}`))
      })
    })
  }

  #status(socket: Socket): Promise<PrinterStatus> {
    return new Promise((resolve) => {
      const reply: number[] = []
      const done = () => {
        clearTimeout(timer)
        socket.off('data', onData)
        socket.off('close', done)
        resolve(parseStatusReply(Uint8Array.from(reply.slice(0, statusReplyLength)), this.#now()))
      }
      const onData = (chunk: Buffer) => {
        reply.push(...chunk)
        if (reply.length >= statusReplyLength) done()
      }
      const timer = setTimeout(done, this.#statusTimeoutMs)
      socket.on('data', onData)
      socket.once('close', done)
      socket.write(statusRequest)
    })
  }

  #write(socket: Socket, bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new PrinterUnreachableError('write timed out (printer not reading)')),
        this.#writeTimeoutMs,
      )
      socket.write(bytes, (err) => {
        clearTimeout(timer)
        if (err) reject(new PrinterUnreachableError(`write failed: ${err.message}`))
        else resolve()
      })
    })
  }

  #end(socket: Socket): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.#statusTimeoutMs)
      socket.end(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }
}
