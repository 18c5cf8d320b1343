// The relay's HTTP endpoint: GET /healthz (JSON, 200 when the libp2p host runs, else 503) and GET /metrics.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface HttpEndpoint {
  port: number
  close(): Promise<void>
}

export interface HttpEndpointOptions {
  port: number
  host: string
  health: () => { ok: boolean } & Record<string, unknown>
  metrics: () => string
}

export async function startHttpEndpoint(options: HttpEndpointOptions): Promise<HttpEndpoint> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end()
    } else if (path === '/healthz') {
      const health = options.health()
      res.writeHead(health.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(health))
    } else if (path === '/metrics') {
      res
        .writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
        .end(options.metrics())
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => resolve())
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
