// The browser's only channel to its node: typed requests over one WebSocket, reconnecting on loss.
// The browser holds no keys: every operation is a request that the node signs and persists before answering.
import type {
  EventMessage,
  EventName,
  Events,
  Method,
  Params,
  ResponseMessage,
  Result,
} from '../../shared/protocol.ts'

export class ApiError extends Error {
  constructor(
    override readonly name: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message)
  }
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void }
type Listener = (event: EventName, data: unknown) => void

export class ApiClient {
  private socket: WebSocket | undefined
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private readonly listeners = new Set<Listener>()
  private readonly connectionListeners = new Set<(connected: boolean) => void>()
  private openWaiters: (() => void)[] = []
  private closed = false

  constructor(private readonly url: string) {}

  connect(): void {
    this.closed = false
    const socket = new WebSocket(this.url)
    this.socket = socket
    socket.onopen = () => {
      for (const w of this.openWaiters.splice(0)) w()
      for (const l of this.connectionListeners) l(true)
    }
    socket.onmessage = (ev) => this.receive(String(ev.data))
    socket.onclose = () => {
      for (const [, p] of this.pending)
        p.reject(new ApiError('ConnectionLostError', 'connection to the node lost'))
      this.pending.clear()
      for (const l of this.connectionListeners) l(false)
      if (!this.closed) setTimeout(() => this.connect(), 1000)
    }
  }

  /** Drops the socket and opens a new one (after pairing: the new cookie goes with the handshake). */
  reconnect(): void {
    const old = this.socket
    this.closed = true
    if (old) old.onclose = null
    old?.close()
    for (const [, p] of this.pending) p.reject(new ApiError('ConnectionLostError', 'reconnecting'))
    this.pending.clear()
    this.connect()
  }

  close(): void {
    this.closed = true
    this.socket?.close()
  }

  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN
  }

  onEvent(listener: Listener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  onConnection(listener: (connected: boolean) => void): () => void {
    this.connectionListeners.add(listener)
    return () => this.connectionListeners.delete(listener)
  }

  async call<M extends Method>(
    method: M,
    ...args: Params<M> extends Record<string, never> ? [] : [Params<M>]
  ) {
    if (!this.connected) await new Promise<void>((r) => this.openWaiters.push(r))
    const id = this.nextId++
    const promise = new Promise<unknown>((resolve, reject) => this.pending.set(id, { resolve, reject }))
    this.socket!.send(JSON.stringify({ id, method, params: args[0] ?? {} }))
    return promise as Promise<Result<M>>
  }

  private receive(text: string): void {
    const msg = JSON.parse(text) as ResponseMessage | EventMessage
    if ('event' in msg) {
      for (const l of this.listeners) l(msg.event, msg.data)
      return
    }
    const p = this.pending.get(msg.id)
    if (!p) return
    this.pending.delete(msg.id)
    if (msg.ok) p.resolve(msg.result)
    else p.reject(new ApiError(msg.error.name, msg.error.message, msg.error.details))
  }
}

export type EventData<E extends EventName> = Events[E]
