// App-wide reactive state fed by the node: the snapshot, the card on the reader, sync status.
import type { CardView, ClientView, Snapshot, SyncStatus } from '../../shared/protocol.ts'
import { ApiClient, ApiError } from './api.ts'

const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api`
export const api = new ApiClient(wsUrl)

export const app = $state({
  connected: false,
  snapshot: null as Snapshot | null,
  presentCard: null as CardView | null,
  sync: null as SyncStatus | null,
  /** Who this browser is to the node (null until asked); role null: show the pairing screen. */
  client: null as ClientView | null,
})

/** Asks the node who we are and, in the same round trip, for the snapshot (used only when paired). */
async function identify(): Promise<void> {
  // Unpaired, state.get fails (NotPairedError) and is ignored; paired, the till shows one round trip
  // sooner at start, which a throttled tablet feels (bench ui).
  const snapshot = api.call('state.get').catch(() => null)
  app.client = await api.call('client.whoami')
  if (app.client.role === null) return
  const snap = await snapshot
  if (snap) applySnapshot(snap)
  else await refresh()
}

/** POST /pair with a code: the node sets an HttpOnly session cookie; reconnect so the socket carries it. */
export async function pairWithCode(code: string): Promise<void> {
  const res = await fetch('/pair', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code }),
  })
  const body = (await res.json()) as { error?: { name: string; message: string } }
  if (body.error) throw new ApiError(body.error.name, body.error.message)
  history.replaceState(null, '', location.pathname + location.hash)
  api.reconnect()
}

export async function refresh(): Promise<void> {
  applySnapshot(await api.call('state.get'))
}

function applySnapshot(snap: Snapshot): void {
  app.snapshot = snap
  app.presentCard = snap.presentCard
  app.sync = snap.sync
}

export function startStore(): void {
  api.onConnection((connected) => {
    app.connected = connected
    if (connected) void identify()
  })
  api.onEvent((event, data) => {
    if (event === 'card.presented') app.presentCard = data as CardView
    else if (event === 'card.removed') app.presentCard = null
    else if (event === 'sync.status') app.sync = data as SyncStatus
    else if (event === 'catalog.changed' || event === 'ledger.changed') void refresh()
  })
  api.connect()
}
