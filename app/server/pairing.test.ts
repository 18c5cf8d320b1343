import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { METHODS, type Role } from '../shared/protocol.ts'
import { AppServer } from './http-server.ts'
import { checkAccess, METHOD_ROLES, PairingService, receivesEvent, tokenFromCookie } from './pairing.ts'
import type { ApiHandler } from './ws-api.ts'

describe('PairingService', () => {
  it('a code pairs once, for its role; wrong, reused and expired codes are refused', () => {
    let now = 1_000_000
    const pairing = new PairingService({ clock: () => now, codeTtlMs: 60_000 })
    const { code } = pairing.offer('till', 'Bar tablet')
    expect(code).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}$/)
    // Typed in lower case without the dash: still the same code.
    const { token, role } = pairing.redeem(code.replace('-', '').toLowerCase())
    expect(role).toBe('till')
    expect(pairing.clientFor(token)).toEqual({ role: 'till', via: 'code', name: 'Bar tablet' })
    expect(() => pairing.redeem(code)).toThrow(expect.objectContaining({ name: 'InvalidPairingCodeError' }))
    expect(pairing.clientFor('forged-token').role).toBeNull()
    const late = pairing.offer('door')
    now += 60_001
    expect(() => pairing.redeem(late.code)).toThrow(
      expect.objectContaining({ name: 'InvalidPairingCodeError' }),
    )
  })

  it('pauses pairing after 10 wrong codes in a minute (no brute force of 40-bit codes)', () => {
    let now = 0
    const pairing = new PairingService({ clock: () => now })
    const good = pairing.offer('admin')
    for (let i = 0; i < 10; i++) expect(() => pairing.redeem('AAAA-AAAA')).toThrow()
    expect(() => pairing.redeem(good.code)).toThrow(
      expect.objectContaining({ name: 'PairingRateLimitedError' }),
    )
    now += 61_000
    expect(pairing.redeem(good.code).role).toBe('admin')
  })

  it('keeps only token hashes on disk, and pairings survive a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lakou-pairing-'))
    const file = join(dir, 'pairings.json')
    const first = new PairingService({ file })
    const paired = first.redeem(first.offer('portal').code)
    const text = await readFile(file, 'utf8')
    expect(text).not.toContain(paired.token)
    expect(new PairingService({ file }).clientFor(paired.token).role).toBe('portal')
    // A damaged file is refused with its name and left as it is.
    await writeFile(file, '{"torn')
    expect(() => new PairingService({ file })).toThrow(
      expect.objectContaining({ name: 'InvalidRequestError' }),
    )
    expect(await readFile(file, 'utf8')).toBe('{"torn')
    await rm(dir, { recursive: true, force: true })
  })
})

describe('checkAccess', () => {
  const allowed = (role: Role | null, method: (typeof METHODS)[number]) => {
    try {
      checkAccess({ role, via: role ? 'code' : null }, method)
      return true
    } catch {
      return false
    }
  }
  it('unpaired browsers may only ask who they are; admin may call everything', () => {
    for (const m of METHODS) {
      expect(allowed(null, m)).toBe(m === 'client.whoami')
      expect(allowed('admin', m)).toBe(true)
    }
  })
  it('each role gets exactly its listed methods', () => {
    for (const role of ['till', 'door', 'portal'] as const)
      for (const m of METHODS)
        expect(allowed(role, m), `${role} ${m}`).toBe(m === 'client.whoami' || METHOD_ROLES[m].includes(role))
    expect(allowed('door', 'sale.pay')).toBe(false)
    expect(allowed('till', 'admin.report')).toBe(false)
    expect(allowed('portal', 'sim.tap')).toBe(false)
  })
  it('pushes reader events to the reader screens only, nothing to unpaired browsers', () => {
    expect(receivesEvent('till', 'card.presented')).toBe(true)
    expect(receivesEvent('door', 'card.removed')).toBe(true)
    expect(receivesEvent('portal', 'card.presented')).toBe(false)
    expect(receivesEvent('portal', 'sync.status')).toBe(true)
    expect(receivesEvent(null, 'sync.status')).toBe(false)
  })
  it('reads the session token from a cookie header', () => {
    expect(tokenFromCookie('a=1; lakou_session=abc=; b=2')).toBe('abc=')
    expect(tokenFromCookie(undefined)).toBeUndefined()
  })
})

describe('AppServer with pairing required (what a LAN tablet sees)', () => {
  let dir: string
  let server: AppServer
  const pairing = new PairingService()
  const calls: string[] = []
  let push: ((event: 'ledger.changed', data: { records: number }) => void) | undefined
  const handler: ApiHandler = {
    async call(method) {
      calls.push(method)
      return { ok: method } as never
    },
    onEvent: (l) => {
      push = l
      return () => undefined
    },
  }
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lakou-pair-srv-'))
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>t</title>')
    // loopbackAdmin off: the test's loopback connection is treated like any LAN browser.
    server = new AppServer({ staticDir: dir, handler, pairing, loopbackAdmin: false })
    await server.start()
  })
  afterAll(async () => {
    await server.stop()
    await rm(dir, { recursive: true, force: true })
  })

  const connect = async (headers: Record<string, string> = {}) => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}api`, { headers })
    const messages: unknown[] = []
    ws.on('message', (d) => messages.push(JSON.parse(String(d))))
    await new Promise((r, j) => {
      ws.once('open', r)
      ws.once('error', j)
    })
    let id = 0
    const call = async (method: string, params: unknown = {}) => {
      const n = ++id
      ws.send(JSON.stringify({ id: n, method, params }))
      for (;;) {
        const found = messages.find((m) => (m as { id?: number }).id === n)
        if (found) return found as { ok: boolean; result?: unknown; error?: { name: string } }
        await new Promise((r) => setTimeout(r, 5))
      }
    }
    return { ws, call, messages }
  }

  it('unpaired: typed NotPairedError, nothing reaches the service, no events pushed', async () => {
    calls.length = 0
    const { ws, call, messages } = await connect()
    expect(await call('client.whoami')).toMatchObject({ ok: true, result: { role: null } })
    expect(await call('state.get')).toMatchObject({ ok: false, error: { name: 'NotPairedError' } })
    expect(await call('admin.report')).toMatchObject({ ok: false, error: { name: 'NotPairedError' } })
    push?.('ledger.changed', { records: 1 })
    await new Promise((r) => setTimeout(r, 50))
    expect(messages.filter((m) => 'event' in (m as object))).toEqual([])
    expect(calls).toEqual([])
    ws.close()
  })

  it('a wrong code is refused; a till code gives an HttpOnly cookie; the till may sell, not administer', async () => {
    const wrong = await fetch(`${server.url}pair`, {
      method: 'POST',
      body: JSON.stringify({ code: 'ZZZZ-ZZZZ' }),
    })
    expect(wrong.status).toBe(403)
    expect(await wrong.json()).toMatchObject({ error: { name: 'InvalidPairingCodeError' } })
    const { code } = pairing.offer('till')
    const res = await fetch(`${server.url}pair`, { method: 'POST', body: JSON.stringify({ code }) })
    expect(res.status).toBe(200)
    const cookie = res.headers.get('set-cookie')!
    expect(cookie).toMatch(/HttpOnly/)
    expect(cookie).toMatch(/SameSite=Strict/)
    const { call, ws } = await connect({ cookie: cookie.split(';')[0]! })
    expect(await call('client.whoami')).toMatchObject({ ok: true, result: { role: 'till', via: 'code' } })
    expect(await call('card.get', { cardId: 'ab' })).toMatchObject({ ok: true })
    expect(await call('admin.report')).toMatchObject({ ok: false, error: { name: 'RoleNotAllowedError' } })
    expect(await call('door.check', { eventId: 'e', cardId: 'a' })).toMatchObject({
      ok: false,
      error: { name: 'RoleNotAllowedError' },
    })
    ws.close()
  })

  it('refuses a WebSocket opened by a page of another site', async () => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}api`, {
      headers: { origin: 'http://evil.example' },
    })
    const outcome = await new Promise((r) => {
      ws.once('open', () => r('open'))
      ws.once('error', () => r('refused'))
      ws.once('unexpected-response', (_req, res) => r(`refused ${res.statusCode}`))
    })
    expect(outcome).toMatch(/^refused/)
    ws.terminate()
  })
})
