// App-wide reactive state fed by the node: the snapshot, the card on the reader, sync status.
import type { CardView, Snapshot, SyncStatus } from '../../shared/protocol.ts'
import { ApiClient } from './api.ts'

const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api`
export const api = new ApiClient(wsUrl)

export const app = $state({
  connected: false,
  snapshot: null as Snapshot | null,
  presentCard: null as CardView | null,
  sync: null as SyncStatus | null,
})

export async function refresh(): Promise<void> {
  const snap = await api.call('state.get')
  app.snapshot = snap
  app.presentCard = snap.presentCard
  app.sync = snap.sync
}

export function startStore(): void {
  api.onConnection((connected) => {
    app.connected = connected
    if (connected) void refresh()
  })
  api.onEvent((event, data) => {
    if (event === 'card.presented') app.presentCard = data as CardView
    else if (event === 'card.removed') app.presentCard = null
    else if (event === 'sync.status') app.sync = data as SyncStatus
    else if (event === 'catalog.changed' || event === 'ledger.changed') void refresh()
  })
  api.connect()
}
