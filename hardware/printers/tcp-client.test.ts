import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { renderEscPos } from './escpos.ts'
import { FakePrinter } from './fake-printer.ts'
import { TcpPrinterClient } from './tcp-client.ts'

const job = renderEscPos([{ kind: 'text', text: 'Galette saucisse', bold: true }, { kind: 'cut' }])

describe('TcpPrinterClient against a fake printer on 127.0.0.1', () => {
  let printer: FakePrinter
  // Generous timeouts: the fake printer answers in the same process, which a loaded CI machine can stall for
  // longer than a real printer's budget; a status timeout would turn 'online' into 'unknown'.
  const client = new TcpPrinterClient({ connectTimeoutMs: 10_000, statusTimeoutMs: 10_000 })
  const address = () => ({ host: '127.0.0.1', port: printer.port })

  beforeEach(async () => {
    printer = new FakePrinter()
    await printer.start()
  })
  afterEach(async () => {
    await printer.stop()
  })

  it('prints when the printer answers status online', async () => {
    expect((await client.queryStatus(address())).state).toBe('online')
    const attempt = await client.print(address(), job)
    expect(attempt).toMatchObject({ printed: true, status: { state: 'online' } })
    expect(printer.pages()).toHaveLength(1)
    expect(printer.pages()[0]?.lines[0]).toMatchObject({ text: 'Galette saucisse', bold: true })
  })

  it('does not send to a printer out of paper or with its cover open', async () => {
    printer.mode = 'out-of-paper'
    expect(await client.print(address(), job)).toMatchObject({
      printed: false,
      status: { state: 'out-of-paper' },
    })
    printer.mode = 'cover-open'
    expect(await client.print(address(), job)).toMatchObject({
      printed: false,
      status: { state: 'cover-open' },
    })
    expect(printer.pages()).toEqual([])
    expect(printer.discardedBytes).toBe(0)
  })

  it('does not count a job printed when the paper ran out while it was sent', async () => {
    printer.paperLeftBytes = 10
    expect(await client.print(address(), job)).toMatchObject({
      printed: false,
      status: { state: 'out-of-paper' },
    })
    expect(printer.discardedBytes).toBe(job.length - 10)
    printer.mode = 'online'
    expect(await client.print(address(), job)).toMatchObject({ printed: true, status: { state: 'online' } })
    expect(printer.texts().at(-1)).toBe('Galette saucisse')
  })

  it('reports unknown status for a printer that does not answer DLE EOT, and still prints', async () => {
    printer.mode = 'no-status'
    // This printer never answers, so the status timeout always runs out: a short one cannot flake.
    const impatient = new TcpPrinterClient({ connectTimeoutMs: 10_000, statusTimeoutMs: 200 })
    expect((await impatient.queryStatus(address())).state).toBe('unknown')
    expect(await impatient.print(address(), job)).toMatchObject({
      printed: true,
      status: { state: 'unknown' },
    })
    await printer.waitForPages(1)
    expect(printer.texts()).toEqual(['Galette saucisse'])
  })

  it('reports unreachable when the printer is off (connection refused)', async () => {
    await printer.stop()
    const status = await client.queryStatus(address())
    expect(status.state).toBe('unreachable')
    expect(status.detail).toMatch(/ECONNREFUSED/)
    expect(await client.print(address(), job)).toMatchObject({
      printed: false,
      status: { state: 'unreachable' },
    })
    await printer.start()
    expect((await client.print(address(), job)).printed).toBe(true)
  })
})
