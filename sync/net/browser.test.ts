// The adapter and handshake in a real browser: the portable network code bundled for the browser runs in
// Debian's chromium, dials the relay (its own process) over WebSockets, passes the handshake with a
// WebCrypto Ed25519 key, and syncs a document both ways with a till (its own process) through the relay.
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium } from '@playwright/test'
import { build } from 'esbuild'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../scripts/chromium.ts'
import { type ChildPeer, spawnChild } from './fixtures/child.ts'

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 })

const ENTRY = fileURLToPath(new URL('./fixtures/browser-peer.ts', import.meta.url))
let browser: Browser | undefined
let server: Server | undefined
const children: ChildPeer[] = []
let root: string | undefined

afterAll(async () => {
  await browser?.close()
  server?.close()
  for (const c of children) c.kill()
  if (root) await rm(root, { recursive: true, force: true })
})

async function serveBundle(): Promise<string> {
  const out = await build({
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
  })
  const js = out.outputFiles[0]!.contents
  server = createServer((req, res) => {
    if (req.url === '/peer.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js)
    else
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<script type="module" src="/peer.js"></script>')
  })
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
}

describe('browser peer (chromium) through the relay', () => {
  it.skipIf(!existsSync(CHROMIUM_PATH))(
    'syncs a document both ways with a till over WebSockets',
    async () => {
      root = await mkdtemp(join(tmpdir(), 'lakou-browser-'))
      const [url, relay, till] = await Promise.all([
        serveBundle(),
        spawnChild('relay/fixtures/relay-process.ts', { data: join(root, 'relay') }),
        spawnChild('sync/net/fixtures/scripted-peer.ts', {}),
      ])
      children.push(relay, till)
      await relay.request('trust', { key: till.ready.publicKey })
      await till.request('trust', { key: relay.ready.publicKey, kind: 'relay' })
      await till.request('dial', { addr: relay.ready.addrs.find((a) => !a.includes('/ws'))! })
      const docUrl = String((await till.request('create', { doc: { menu: 'soup' } })).url)

      browser = await chromium.launch({
        executablePath: CHROMIUM_PATH,
        args: CHROMIUM_ARGS,
      })
      const page = await browser.newPage()
      const pageErrors: string[] = []
      page.on('pageerror', (e) => pageErrors.push(String(e)))
      await page.goto(url)
      await page.waitForFunction(() => 'lakouPeer' in globalThis)
      type Api = {
        init(): Promise<{ publicKey: string }>
        connect(a: string, k: string): Promise<{ peerId: string }>
        wait(u: string, k: string, v: unknown, t: number): Promise<Record<string, unknown> | undefined>
        change(u: string, k: string, v: unknown): Promise<void>
        status(): Array<{ peerId: string; via: string; authenticated: boolean }>
      }
      type Page = { lakouPeer: Api }
      const { publicKey } = await page.evaluate(() => (globalThis as unknown as Page).lakouPeer.init())
      await relay.request('trust', { key: publicKey })
      const ws = relay.ready.addrs.find((a) => a.includes('/ws/p2p/'))!
      await page.evaluate(([a, k]) => (globalThis as unknown as Page).lakouPeer.connect(a, k), [
        ws,
        String(relay.ready.publicKey),
      ] as [string, string])

      const seen = await page.evaluate(
        (u) => (globalThis as unknown as Page).lakouPeer.wait(u, 'menu', 'soup', 30_000),
        docUrl,
      )
      expect(seen, pageErrors.join('\n')).toMatchObject({ menu: 'soup' })
      const status = await page.evaluate(() => (globalThis as unknown as Page).lakouPeer.status())
      expect(status.find((s) => s.peerId === relay.ready.peerId)).toMatchObject({
        via: 'direct',
        authenticated: true,
      })

      await page.evaluate((u) => (globalThis as unknown as Page).lakouPeer.change(u, 'menu', 'stew'), docUrl)
      const back = await till.request('wait', { url: docUrl, key: 'menu', value: 'stew', timeoutMs: 30_000 })
      expect(back.doc).toMatchObject({ menu: 'stew' })
      expect(pageErrors).toEqual([])
    },
  )
})
