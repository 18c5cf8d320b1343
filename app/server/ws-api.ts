// The WebSocket API: parses one JSON request per message, validates it, calls the service and answers
// with the same id. Events from the service are pushed to every open socket. A malformed message gets a
// typed error answer; it never closes the socket or reaches the service.
import type { IncomingMessage } from 'node:http'
import { renderSVG } from 'uqr'
import type { WebSocket, WebSocketServer } from 'ws'
import type {
  EventMessage,
  EventName,
  Events,
  Method,
  Params,
  ResponseMessage,
  Result,
} from '../shared/protocol.ts'
import { AppError, InvalidRequestError, UnknownMethodError } from './errors.ts'
import { type Client, checkAccess, type PairingService, receivesEvent } from './pairing.ts'
import { isMethod, validateParams } from './validate.ts'

export interface ApiHandler {
  call<M extends Method>(method: M, params: Params<M>): Promise<Result<M>>
  onEvent(listener: <E extends EventName>(event: E, data: Events[E]) => void): () => void
}

const MAX_MESSAGE_BYTES = 64 * 1024

export function errorToWire(e: unknown): { name: string; message: string; details?: unknown } {
  if (e instanceof AppError) return { name: e.name, message: e.message, details: e.details }
  // Errors from other parts (ledger, sync) keep their stable name; stack traces stay on the server.
  if (e instanceof Error && e.name !== 'Error') return { name: e.name, message: e.message }
  return { name: 'InternalError', message: e instanceof Error ? e.message : String(e) }
}

/** What the API layer itself answers: who the browser is, and pairing codes (admin). */
export interface ApiContext {
  client: Client
  pairing?: PairingService
  /** Base URL of the app server, for pairing links. */
  baseUrl?: () => string
}

async function callLayer<M extends Method>(
  handler: ApiHandler,
  context: ApiContext,
  method: M,
  params: Params<M>,
): Promise<unknown> {
  if (method === 'client.whoami') {
    const { role, via, name } = context.client
    return { role, via, ...(name ? { name } : {}) }
  }
  if (method === 'admin.pair.offer') {
    if (!context.pairing) throw new UnknownMethodError('pairing is not enabled on this node')
    const p = params as Params<'admin.pair.offer'>
    const { code, expiresAt } = context.pairing.offer(p.role, p.name)
    const url = `${context.baseUrl?.() ?? ''}?pair=${code}`
    return { code, role: p.role, url, qrSvg: renderSVG(url), expiresAt: new Date(expiresAt).toISOString() }
  }
  return handler.call(method, params)
}

export async function handleMessage(
  handler: ApiHandler,
  raw: string,
  context: ApiContext,
): Promise<ResponseMessage> {
  let id = 0
  try {
    if (raw.length > MAX_MESSAGE_BYTES) throw new InvalidRequestError('message too large')
    let msg: unknown
    try {
      msg = JSON.parse(raw)
    } catch {
      throw new InvalidRequestError('message is not JSON')
    }
    if (typeof msg !== 'object' || msg === null) throw new InvalidRequestError('message is not an object')
    const m = msg as { id?: unknown; method?: unknown; params?: unknown }
    if (!Number.isSafeInteger(m.id)) throw new InvalidRequestError('id must be an integer')
    id = m.id as number
    if (!isMethod(m.method)) throw new UnknownMethodError(`unknown method ${String(m.method)}`)
    checkAccess(context.client, m.method)
    const params = validateParams(m.method, m.params)
    const result = await callLayer(handler, context, m.method, params)
    return { id, ok: true, result: result ?? null }
  } catch (e) {
    if (!(e instanceof AppError)) console.error('api: request failed', e)
    return { id, ok: false, error: errorToWire(e) }
  }
}

export function attachApi(
  wss: WebSocketServer,
  handler: ApiHandler,
  contextFor: (req: IncomingMessage) => ApiContext,
): () => void {
  const sockets = new Map<WebSocket, Client>()
  const unsubscribe = handler.onEvent((event, data) => {
    const text = JSON.stringify({ event, data } satisfies EventMessage)
    // Unpaired browsers get no events; the portal does not see the cards tapped on the till's reader.
    for (const [s, client] of sockets)
      if (s.readyState === s.OPEN && receivesEvent(client.role, event)) s.send(text)
  })
  wss.on('connection', (socket, req: IncomingMessage) => {
    const context = contextFor(req)
    sockets.set(socket, context.client)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => sockets.delete(socket))
    socket.on('message', (data, isBinary) => {
      const raw = isBinary ? '' : data.toString()
      void handleMessage(handler, raw, context).then((res) => {
        if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(res))
      })
    })
  })
  return unsubscribe
}
