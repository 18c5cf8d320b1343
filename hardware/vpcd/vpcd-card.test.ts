// The vpcd wire protocol against a stand-in for pcscd's vpcd driver (a TCP server on port 0): framing
// (2-byte big-endian length), control bytes, APDUs split across TCP segments, and tear = close.
import { createServer, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { fromHex, readBinaryApdu, updateBinaryApdu } from '../apdu.ts'
import { VirtualNtag215 } from '../cards/ntag215.ts'
import { VpcdCardConnection } from './vpcd-card.ts'

const frame = (p: Uint8Array) => Buffer.concat([Buffer.from([p.length >> 8, p.length & 0xff]), p])

async function fakeVpcd() {
  let socket!: Socket
  const server = createServer()
  const connected = new Promise<void>((resolve) => {
    server.once('connection', (s) => {
      socket = s
      resolve()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  let buffer = Buffer.alloc(0)
  const replies: Uint8Array[] = []
  let wake: (() => void) | undefined
  const ready = connected.then(() =>
    socket.on('data', (d) => {
      buffer = Buffer.concat([buffer, d])
      while (buffer.length >= 2 && buffer.length >= 2 + buffer.readUInt16BE(0)) {
        replies.push(new Uint8Array(buffer.subarray(2, 2 + buffer.readUInt16BE(0))))
        buffer = buffer.subarray(2 + buffer.readUInt16BE(0))
      }
      wake?.()
    }),
  )
  /** Sends raw bytes, then waits for the next reply. */
  const exchange = async (bytes: Buffer, split = false): Promise<Uint8Array> => {
    await ready
    const got = new Promise<void>((r) => {
      wake = r
    })
    if (split) {
      socket.write(bytes.subarray(0, 2))
      await new Promise((r) => setTimeout(r, 5))
      socket.write(bytes.subarray(2))
    } else socket.write(bytes)
    await got
    return replies.shift()!
  }
  const closed = () => new Promise<void>((r) => (socket.destroyed ? r() : socket.once('close', () => r())))
  return { server, port, exchange, closed, ready }
}

let cleanup: (() => void)[] = []
afterEach(() => {
  for (const c of cleanup) c()
  cleanup = []
})

describe('vpcd card connection', () => {
  it('sends the ATR on request 4, ignores power controls, answers APDUs framed, split or not', async () => {
    const vpcd = await fakeVpcd()
    cleanup.push(() => vpcd.server.close())
    const card = new VirtualNtag215({ uid: fromHex('04010203040506') })
    const conn = new VpcdCardConnection(card, { port: vpcd.port })
    await conn.insert()
    cleanup.push(() => void conn.remove())
    expect(await vpcd.exchange(frame(Uint8Array.of(4)))).toEqual(card.atr)
    // power on (1) has no answer: the next reply is the APDU's
    const both = Buffer.concat([frame(Uint8Array.of(1)), frame(fromHex('ffca000000'))])
    expect(await vpcd.exchange(both)).toEqual(fromHex('040102030405069000'))
    expect(await vpcd.exchange(frame(updateBinaryApdu(4, fromHex('0a0b0c0d'))), true)).toEqual(
      fromHex('9000'),
    )
    expect(await vpcd.exchange(frame(readBinaryApdu(4, 4)), true)).toEqual(fromHex('0a0b0c0d9000'))
    expect(conn.apdus).toBe(3)
  })

  it('a tear closes the connection without answering, and the card can be presented again', async () => {
    const vpcd = await fakeVpcd()
    cleanup.push(() => vpcd.server.close())
    const card = new VirtualNtag215()
    const conn = new VpcdCardConnection(card, { port: vpcd.port })
    await conn.insert()
    await vpcd.ready
    conn.tearAfterApdus = 0
    const closed = vpcd.closed()
    vpcd.exchange(frame(fromHex('ffca000000'))).catch(() => {})
    await closed
    expect(conn.present).toBe(false)
    const reconnected = new Promise<void>((r) => vpcd.server.once('connection', () => r()))
    await conn.insert()
    await reconnected
    expect(conn.present).toBe(true)
    await conn.remove()
  })
})
