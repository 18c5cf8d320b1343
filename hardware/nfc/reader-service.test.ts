// The PC/SC reader service on the real stack: pcscd + vpcd + the project's virtual cards over TCP.
import { EventEmitter } from 'node:events'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { SW_FILE_NOT_FOUND, SW_OK, status, withStatus } from '../apdu.ts'
import { VirtualNtag215 } from '../cards/ntag215.ts'
import { VirtualSigningCard } from '../cards/signing-applet.ts'
import type { VirtualCard } from '../cards/virtual-card.ts'
import { ReaderError } from '../errors.ts'
import { isVpcdReady, killPcscd, recordRestartedPcscd, startPcscd } from '../pcscd/pcscd.ts'
import { pcscdAvailable } from '../testing/require-pcscd.ts'
import { nextEvent } from '../testing/rigs.ts'
import { VPCD_PORTS, VpcdCardConnection } from '../vpcd/vpcd-card.ts'
import { NfcReaderService } from './reader-service.ts'

const READER_0 = 'Virtual PCD 00 00'
const READER_1 = 'Virtual PCD 00 01'
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

/** Records every event of a service, in order. */
function record(service: NfcReaderService) {
  const log: string[] = []
  service.on('reader-attached', (e) => log.push(`attached ${e.reader}`))
  service.on('reader-detached', (e) => log.push(`detached ${e.reader}`))
  service.on('card-presented', (e) => log.push(`presented ${e.reader} ${e.kind} ${hex(e.uid)}`))
  service.on('card-removed', (e) => log.push(`removed ${e.reader} ${hex(e.uid)}`))
  service.on('error', (e) => log.push(`error ${e.name}`))
  return log
}

/** A foreign ISO 14443-4 card (say, a bank card): answers GET UID, knows no Lakou applet. */
const foreignCard: VirtualCard = {
  label: 'foreign',
  atr: Uint8Array.of(0x3b, 0x80, 0x80, 0x01, 0x01),
  transmit: (apdu) =>
    apdu[0] === 0xff ? withStatus(Uint8Array.of(0x08, 1, 2, 3), SW_OK) : status(SW_FILE_NOT_FOUND),
  reset() {},
}

describe('nfc reader service without pcscd (no hardware needed)', () => {
  class FakeNfc extends EventEmitter {
    static created = 0
    closed = false
    constructor() {
      super()
      FakeNfc.created++
    }
    close() {
      this.closed = true
    }
  }

  it('never constructs nfc-pcsc while pcscd is absent, and does once it appears', async () => {
    let ready = false
    FakeNfc.created = 0
    const service = new NfcReaderService({
      pollMs: 10,
      pcscdReady: () => ready,
      nfcConstructor: FakeNfc as never,
    })
    await service.start()
    await new Promise((r) => setTimeout(r, 100))
    expect(FakeNfc.created).toBe(0)
    ready = true
    await new Promise((r) => setTimeout(r, 100))
    expect(FakeNfc.created).toBe(1)
    await service.stop()
  })

  it('turns a PC/SC failure into a ReaderError event and recreates nfc-pcsc', async () => {
    FakeNfc.created = 0
    const instances: FakeNfc[] = []
    class Tracked extends FakeNfc {
      constructor() {
        super()
        instances.push(this)
      }
    }
    const service = new NfcReaderService({
      pollMs: 10,
      pcscdReady: () => true,
      nfcConstructor: Tracked as never,
    })
    const errors: Error[] = []
    service.on('error', (e) => errors.push(e))
    await service.start()
    await new Promise((r) => setTimeout(r, 30))
    instances[0]!.emit('error', new Error('SCardGetStatusChange error: RPC transport error.(0x80100013)'))
    await new Promise((r) => setTimeout(r, 50))
    expect(errors[0]).toBeInstanceOf(ReaderError)
    expect(instances[0]!.closed).toBe(true)
    expect(instances.length).toBe(2)
    expect(service.generation).toBe(2)
    await service.stop()
  })

  it('does not throw when an error has no listener', async () => {
    const service = new NfcReaderService({
      pollMs: 10,
      pcscdReady: () => true,
      nfcConstructor: FakeNfc as never,
    })
    const warn = console.warn
    console.warn = () => {}
    try {
      await service.start()
      await new Promise((r) => setTimeout(r, 30))
      const nfc = (service as unknown as { nfc: FakeNfc }).nfc
      expect(() => nfc.emit('error', new Error('boom'))).not.toThrow()
    } finally {
      console.warn = warn
      await service.stop()
    }
  })
})

if (pcscdAvailable()) {
  describe('nfc reader service on pcscd + vpcd', () => {
    const service = new NfcReaderService({ pollMs: 100 })
    const log = record(service)
    const connections: VpcdCardConnection[] = []
    const present = async (card: VirtualCard, port: number = VPCD_PORTS[0]) => {
      const reader = port === VPCD_PORTS[0] ? READER_0 : READER_1
      const presented = nextEvent(service, 'card-presented', (e) => e.reader === reader)
      const c = new VpcdCardConnection(card, { port })
      connections.push(c)
      await c.insert()
      await presented
      return c
    }
    const remove = async (c: VpcdCardConnection) => {
      const reader = c.port === VPCD_PORTS[0] ? READER_0 : READER_1
      const removed = nextEvent(service, 'card-removed', (e) => e.reader === reader)
      await c.remove()
      await removed
    }

    beforeAll(async () => {
      const both = Promise.all([
        nextEvent(service, 'reader-attached', (e) => e.reader === READER_0),
        nextEvent(service, 'reader-attached', (e) => e.reader === READER_1),
      ])
      await service.start()
      await both
    })
    afterAll(async () => {
      for (const c of connections) await c.remove()
      await service.stop()
    })

    it('attaches both virtual readers', () => {
      expect(service.readers().sort()).toEqual([READER_0, READER_1])
    })

    it('presents, removes, swaps and re-presents cards with typed events', async () => {
      const tag = new VirtualNtag215()
      const signer = new VirtualSigningCard()
      log.length = 0
      const t1 = await present(tag)
      expect(service.cardIn(READER_0)?.kind).toBe('tag')
      await remove(t1)
      expect(service.cardIn(READER_0)).toBeUndefined()
      const s1 = await present(signer) // swap: another card on the same reader
      await remove(s1)
      const t2 = await present(tag) // re-present the first card
      await remove(t2)
      expect(log).toEqual([
        `presented ${READER_0} tag ${hex(tag.uid)}`,
        `removed ${READER_0} ${hex(tag.uid)}`,
        `presented ${READER_0} signing ${hex(signer.uid)}`,
        `removed ${READER_0} ${hex(signer.uid)}`,
        `presented ${READER_0} tag ${hex(tag.uid)}`,
        `removed ${READER_0} ${hex(tag.uid)}`,
      ])
    })

    it('reports a fast swap (second card in before the first removal was polled) as removed then presented', async () => {
      const first = new VirtualNtag215()
      const second = new VirtualNtag215()
      const c1 = await present(first)
      log.length = 0
      const presented = nextEvent(service, 'card-presented', (e) => e.reader === READER_0)
      await c1.remove()
      const c2 = new VpcdCardConnection(second)
      connections.push(c2)
      await c2.insert()
      await presented
      expect(log).toEqual([
        `removed ${READER_0} ${hex(first.uid)}`,
        `presented ${READER_0} tag ${hex(second.uid)}`,
      ])
      await remove(c2)
    })

    it('serves two readers at once and classifies a foreign ISO 14443-4 card as unknown', async () => {
      const tag = new VirtualNtag215()
      const a = await present(tag, VPCD_PORTS[0])
      const b = await present(foreignCard, VPCD_PORTS[1])
      expect(service.cardIn(READER_0)?.uid).toEqual(tag.uid)
      expect(service.cardIn(READER_1)?.kind).toBe('unknown')
      await remove(a)
      expect(service.cardIn(READER_1)?.kind).toBe('unknown')
      await remove(b)
    })

    it('recovers after pcscd restarts (recreates nfc-pcsc) and sees cards again', async (ctx) => {
      const pid = inject('pcscd').pid
      if (pid === undefined) {
        ctx.skip() // a pcscd we did not start is not ours to restart
        return
      }
      const generation = service.generation
      const detached = nextEvent(service, 'reader-detached', (e) => e.reader === READER_0)
      await killPcscd(pid)
      await detached
      const reattached = nextEvent(service, 'reader-attached', (e) => e.reader === READER_0)
      const replacement = await startPcscd()
      if (replacement.pid) recordRestartedPcscd(replacement.pid)
      expect(isVpcdReady()).toBe(true)
      await reattached
      expect(service.generation).toBe(generation + 1)
      const tag = new VirtualNtag215()
      const c = await present(tag)
      expect(service.cardIn(READER_0)?.uid).toEqual(tag.uid)
      await remove(c)
    })
  })
}
