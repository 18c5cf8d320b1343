import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { InsufficientBalanceError } from './errors.ts'
import { AppServer } from './http-server.ts'
import { type ApiContext, type ApiHandler, handleMessage } from './ws-api.ts'

const admin: ApiContext = { client: { role: 'admin', via: 'loopback' } }

// A handler at the unit's edge: records what reached it, so tests can prove bad input never does.
const calls: string[] = []
const handler: ApiHandler = {
  async call(method, params) {
    calls.push(method)
    if (method === 'card.refund') throw new InsufficientBalanceError('too much')
    return { echo: params } as never
  },
  onEvent: () => () => undefined,
}

describe('handleMessage', () => {
  it('answers malformed, unknown and invalid requests with typed errors that never reach the service', async () => {
    calls.length = 0
    expect(await handleMessage(handler, 'not json', admin)).toMatchObject({
      ok: false,
      error: { name: 'InvalidRequestError' },
    })
    expect(await handleMessage(handler, '{"id":1,"method":"drop.tables"}', admin)).toMatchObject({
      id: 1,
      ok: false,
      error: { name: 'UnknownMethodError' },
    })
    const bad = [
      { id: 2, method: 'card.topUp', params: { cardId: 'ab', asset: 'EUR', amount: 10.5, paidBy: 'cash' } },
      { id: 3, method: 'card.topUp', params: { cardId: 'ab', asset: 'EUR', amount: -5, paidBy: 'cash' } },
      { id: 4, method: 'card.topUp', params: { cardId: 'ab', asset: 'EUR', amount: 5, paidBy: 'gold' } },
      { id: 5, method: 'sale.pay', params: { lines: [], payments: [] } },
      {
        id: 6,
        method: 'sale.pay',
        params: { lines: [{ productId: 'beer', qty: 1 }], payments: [], extra: 1 },
      },
      { id: 7, method: 'door.check', params: { eventId: 'e', cardId: 'a', ticketCode: 'b' } },
    ]
    for (const msg of bad) {
      const res = await handleMessage(handler, JSON.stringify(msg), admin)
      expect(res).toMatchObject({ id: msg.id, ok: false, error: { name: 'InvalidRequestError' } })
    }
    expect(calls).toEqual([])
    const ok = await handleMessage(
      handler,
      JSON.stringify({ id: 9, method: 'card.get', params: { cardId: 'ab' } }),
      admin,
    )
    expect(ok).toEqual({ id: 9, ok: true, result: { echo: { cardId: 'ab' } } })
    const refused = await handleMessage(
      handler,
      JSON.stringify({ id: 10, method: 'card.refund', params: { cardId: 'ab', asset: 'EUR', amount: 1 } }),
      admin,
    )
    expect(refused).toMatchObject({ id: 10, ok: false, error: { name: 'InsufficientBalanceError' } })
  })
})

describe('AppServer', () => {
  let dir: string
  let server: AppServer
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lakou-static-'))
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>t</title>')
    server = new AppServer({ staticDir: dir, handler })
    await server.start()
  })
  afterAll(async () => {
    await server.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('serves the app, falls back to index.html for routes, refuses path traversal', async () => {
    expect((await fetch(server.url)).status).toBe(200)
    expect(await (await fetch(`${server.url}till/anything`)).text()).toContain('<title>t</title>')
    expect((await fetch(`${server.url}missing.js`)).status).toBe(404)
    expect((await fetch(`${server.url}..%2f..%2fetc%2fpasswd`)).status).not.toBe(200)
  })

  it('answers requests over the /api WebSocket and keeps the socket open after bad input', async () => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}api`)
    await new Promise((r) => ws.once('open', r))
    const next = () => new Promise<unknown>((r) => ws.once('message', (d) => r(JSON.parse(String(d)))))
    ws.send('garbage')
    expect(await next()).toMatchObject({ ok: false })
    ws.send(JSON.stringify({ id: 1, method: 'card.get', params: { cardId: 'x' } }))
    expect(await next()).toMatchObject({ id: 1, ok: true })
    ws.close()
  })
})
