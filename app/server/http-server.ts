// The node's HTTP server: serves the built app (dist/app) and upgrades /api to the WebSocket API.
// Single-page app: unknown paths without a file extension get index.html (the router lives in the app).
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, normalize, resolve } from 'node:path'
import { WebSocketServer } from 'ws'
import {
  type Client,
  isLoopback,
  type PairingService,
  SESSION_COOKIE,
  tokenFromCookie,
  UNPAIRED,
} from './pairing.ts'
import { type ApiHandler, attachApi, errorToWire } from './ws-api.ts'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.wasm': 'application/wasm',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
}

export interface AppServerOptions {
  /** Folder with the built app (index.html, assets/). */
  staticDir: string
  handler: ApiHandler
  /** POST /enroll (JSON): a new device redeems its enrollment code. */
  enroll?: (body: unknown) => Promise<unknown>
  /** Pairing codes and session tokens; without it only loopback browsers (as admin) are served. */
  pairing?: PairingService
  /** Loopback browsers are admin without a code (default true; `--require-pairing` turns it off). */
  loopbackAdmin?: boolean
  host?: string
  /** 0 picks a free port. */
  port?: number
}

export class AppServer {
  private server: Server | undefined
  private wss: WebSocketServer | undefined
  private detach: (() => void) | undefined

  constructor(private readonly options: AppServerOptions) {}

  get url(): string {
    const addr = this.server?.address() as AddressInfo | null | undefined
    if (!addr) throw new Error('server not started')
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
    return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${addr.port}/`
  }

  async start(): Promise<void> {
    const root = resolve(this.options.staticDir)
    const server = createServer((req, res) => {
      if (req.method === 'POST' && req.url?.startsWith('/enroll')) void this.serveEnroll(req, res)
      else if (req.method === 'POST' && req.url === '/pair') void this.servePair(req, res)
      else void this.serveFile(root, req.url ?? '/', res)
    })
    const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 })
    server.on('upgrade', (req, socket, head) => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== '/api') return socket.destroy()
      // Another site open in the same browser must not drive the API with this browser's pairing (or as
      // a loopback admin): the page must come from this node.
      if (!sameOrigin(req)) {
        socket.end('HTTP/1.1 403 Forbidden\r\n\r\n')
        return
      }
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))
    })
    this.detach = attachApi(wss, this.options.handler, (req) => ({
      client: this.clientFor(req),
      ...(this.options.pairing ? { pairing: this.options.pairing } : {}),
      // Pairing links name the host the admin's browser reached the node by (its LAN address, if so).
      baseUrl: () => (req.headers.host ? `http://${req.headers.host}/` : this.url),
    }))
    await new Promise<void>((done, reject) => {
      server.once('error', reject)
      server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => done())
    })
    this.server = server
    this.wss = wss
  }

  async stop(): Promise<void> {
    this.detach?.()
    for (const client of this.wss?.clients ?? []) client.terminate()
    this.wss?.close()
    const server = this.server
    this.server = undefined
    if (!server) return
    server.closeAllConnections()
    await new Promise<void>((r) => server.close(() => r()))
  }

  /** The browser behind a request: its pairing cookie, else loopback admin (when allowed), else unpaired. */
  clientFor(req: import('node:http').IncomingMessage): Client {
    const paired = this.options.pairing?.clientFor(tokenFromCookie(req.headers.cookie))
    if (paired && paired.role !== null) return paired
    if ((this.options.loopbackAdmin ?? true) && isLoopback(req.socket.remoteAddress))
      return { role: 'admin', via: 'loopback' }
    return UNPAIRED
  }

  /** POST /pair {code}: a valid code sets the session cookie (HttpOnly: page scripts never see the token). */
  private async servePair(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) {
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))
    const pairing = this.options.pairing
    if (!pairing) return reply(404, { error: { name: 'NotFoundError', message: 'no pairing here' } })
    if (!sameOrigin(req)) return reply(403, { error: { name: 'RoleNotAllowedError', message: 'cross-site' } })
    let text = ''
    for await (const chunk of req) {
      text += chunk
      if (text.length > 1024)
        return reply(413, { error: { name: 'InvalidRequestError', message: 'too large' } })
    }
    try {
      const body = JSON.parse(text) as { code?: unknown }
      if (typeof body?.code !== 'string' || body.code.length > 40)
        return reply(400, { error: { name: 'InvalidRequestError', message: 'expected { code }' } })
      const { token, role, name } = pairing.redeem(body.code)
      const cookie = `${SESSION_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=31536000`
      reply(200, { role, name }, { 'set-cookie': cookie })
    } catch (e) {
      reply(e instanceof SyntaxError ? 400 : 403, { error: errorToWire(e) })
    }
  }

  private async serveEnroll(
    req: import('node:http').IncomingMessage,
    res: import('node:http').ServerResponse,
  ) {
    const reply = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    const enroll = this.options.enroll
    if (!enroll) return reply(404, { error: { name: 'NotFoundError', message: 'no enrollment here' } })
    let text = ''
    for await (const chunk of req) {
      text += chunk
      if (text.length > 4096)
        return reply(413, { error: { name: 'InvalidRequestError', message: 'too large' } })
    }
    try {
      reply(200, await enroll(JSON.parse(text)))
    } catch (e) {
      reply(400, { error: errorToWire(e) })
    }
  }

  private async serveFile(root: string, url: string, res: import('node:http').ServerResponse): Promise<void> {
    let pathname: string
    try {
      pathname = decodeURIComponent(new URL(url, 'http://x').pathname)
    } catch {
      res.writeHead(400).end()
      return
    }
    if (pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
      return
    }
    let file = normalize(join(root, pathname))
    if (!file.startsWith(root)) {
      res.writeHead(403).end()
      return
    }
    let info = await stat(file).catch(() => undefined)
    if (info?.isDirectory()) {
      file = join(file, 'index.html')
      info = await stat(file).catch(() => undefined)
    }
    if (!info && extname(pathname) === '') {
      file = join(root, 'index.html')
      info = await stat(file).catch(() => undefined)
    }
    if (!info?.isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
      return
    }
    const type = TYPES[extname(file)] ?? 'application/octet-stream'
    // Hashed assets are immutable; index.html and the service worker must be revalidated to update.
    const cache = pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache'
    res.writeHead(200, { 'content-type': type, 'content-length': info.size, 'cache-control': cache })
    createReadStream(file).pipe(res)
  }
}

/** No Origin header (not a browser page) or an Origin naming this very host. */
function sameOrigin(req: import('node:http').IncomingMessage): boolean {
  const origin = req.headers.origin
  if (!origin) return true
  try {
    return new URL(origin).host === req.headers.host
  } catch {
    return false
  }
}
