// A fake ESC/POS network printer (raw TCP, port 9100 style) for tests: captures what it would print,
// answers DLE EOT status requests, and can be switched off, refuse connections or run out of paper.
import { createServer, type Server, type Socket } from 'node:net'
import { type DecodedPage, decodeEscPos } from './escpos-decode.ts'

export type FakePrinterMode =
  /** Prints and answers status. */
  | 'online'
  /** Answers status "paper end"; data received is not printed. */
  | 'out-of-paper'
  /** Answers status "cover open"; data received is not printed. */
  | 'cover-open'
  /** Prints but never answers status (cheap printers, or status disabled). */
  | 'no-status'

export class FakePrinter {
  #server: Server | undefined
  #port = 0
  #sockets = new Set<Socket>()
  #printed: Uint8Array[] = []
  #discarded = 0
  mode: FakePrinterMode = 'online'
  /** When set, the paper runs out after this many more job bytes (mode becomes out-of-paper). */
  paperLeftBytes: number | undefined
  /** Connections accepted so far (each print attempt or status query opens one). */
  connections = 0

  get port(): number {
    return this.#port
  }

  /** Starts listening on 127.0.0.1; on the first call on port 0, later on the same port (printer back on). */
  async start(): Promise<void> {
    if (this.#server) return
    const server = createServer((socket) => this.#accept(socket))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.#port, '127.0.0.1', () => resolve())
    })
    const address = server.address()
    if (address && typeof address === 'object') this.#port = address.port
    this.#server = server
  }

  /** Switches the printer off: closes open connections; new ones are refused (ECONNREFUSED). */
  async stop(): Promise<void> {
    const server = this.#server
    this.#server = undefined
    for (const socket of this.#sockets) socket.destroy()
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  /** Every byte printed so far, decoded into pages (one per cut). */
  pages(): DecodedPage[] {
    const total = this.#printed.reduce((sum, chunk) => sum + chunk.length, 0)
    const all = new Uint8Array(total)
    let offset = 0
    for (const chunk of this.#printed) {
      all.set(chunk, offset)
      offset += chunk.length
    }
    return [...decodeEscPos(all).pages]
  }

  /** Waits until at least `count` pages were printed (bytes arrive a little after the client's write). */
  async waitForPages(count: number, timeoutMs = 5000): Promise<DecodedPage[]> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const pages = this.pages()
      if (pages.length >= count) return pages
      if (Date.now() > deadline)
        throw new Error(`fake printer: ${pages.length} pages printed, expected ${count}`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  /** Printed pages as plain text, one string per page. */
  texts(): string[] {
    return this.pages().map((page) => page.lines.map((line) => line.text.trimEnd()).join('\n'))
  }

  /** Bytes received while not able to print. */
  get discardedBytes(): number {
    return this.#discarded
  }

  #accept(socket: Socket): void {
    this.connections += 1
    this.#sockets.add(socket)
    socket.on('close', () => this.#sockets.delete(socket))
    socket.on('error', () => {})
    let carry = new Uint8Array(0)
    socket.on('data', (chunk: Buffer) => {
      const data = new Uint8Array(carry.length + chunk.length)
      data.set(carry)
      data.set(chunk, carry.length)
      // Bytes are handled in order: job bytes before a DLE EOT are "printed" before it is answered.
      let from = 0
      let i = 0
      for (; i < data.length; i++) {
        if (data[i] !== 0x10) continue
        if (i + 2 >= data.length) break // a possible DLE EOT split across chunks: keep it for later
        if (data[i + 1] !== 0x04) continue
        this.#receive(data.subarray(from, i))
        this.#answerStatus(socket, data[i + 2] as number)
        i += 2
        from = i + 1
      }
      this.#receive(data.subarray(from, Math.min(i, data.length)))
      carry = data.slice(Math.min(i, data.length))
    })
  }

  #receive(payload: Uint8Array): void {
    if (payload.length === 0) return
    let printable = payload
    if (this.paperLeftBytes !== undefined && (this.mode === 'online' || this.mode === 'no-status')) {
      if (payload.length > this.paperLeftBytes) {
        // The roll ends mid-job: what fits is printed, then the printer reports paper end.
        this.#printed.push(payload.slice(0, this.paperLeftBytes))
        printable = payload.subarray(this.paperLeftBytes)
        this.paperLeftBytes = undefined
        this.mode = 'out-of-paper'
      } else this.paperLeftBytes -= payload.length
    }
    if (this.mode === 'online' || this.mode === 'no-status') this.#printed.push(printable.slice())
    else this.#discarded += printable.length
  }

  #answerStatus(socket: Socket, n: number): void {
    if (this.mode === 'no-status') return
    const base = 0x12
    let reply = base
    if (n === 2 && this.mode === 'cover-open') reply |= 0x04
    if (n === 2 && this.mode === 'out-of-paper') reply |= 0x20
    if (n === 1 && this.mode !== 'online') reply |= 0x08
    if (n === 4 && this.mode === 'out-of-paper') reply |= 0x6c
    socket.write(Uint8Array.of(reply))
  }
}
