// Relay counters and gauges in the Prometheus text exposition format (version 0.0.4).
export interface RelaySnapshot {
  connectedPeers: number
  authenticatedPeers: number
  relayedPeers: number
  reservations: number
  documents: number
  /** Full ledger pages sent whole to tills catching up (relay/full-pages.ts). */
  pagesServedWhole?: number
}

export class RelayMetrics {
  framesReceived = 0
  private readonly droppedByReason = new Map<string, number>()
  private readonly startedAt = Date.now()

  dropped(reason: string): void {
    this.droppedByReason.set(reason, (this.droppedByReason.get(reason) ?? 0) + 1)
  }

  render(s: RelaySnapshot): string {
    const lines: string[] = []
    const metric = (
      name: string,
      type: 'gauge' | 'counter',
      help: string,
      samples: Array<[string, number]>,
    ) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
      for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`)
    }
    metric('lakou_relay_connected_peers', 'gauge', 'Peers with an open libp2p connection.', [
      ['', s.connectedPeers],
    ])
    metric('lakou_relay_authenticated_peers', 'gauge', 'Peers that passed the access handshake.', [
      ['', s.authenticatedPeers],
    ])
    metric('lakou_relay_relayed_peers', 'gauge', 'Peers reached only through a circuit relay.', [
      ['', s.relayedPeers],
    ])
    metric('lakou_relay_reservations', 'gauge', 'Circuit relay v2 reservations held.', [['', s.reservations]])
    metric('lakou_relay_documents', 'gauge', 'Documents held and loaded in the relay repo.', [
      ['', s.documents],
    ])
    metric('lakou_relay_pages_served_whole_total', 'counter', 'Full ledger pages sent whole to tills.', [
      ['', s.pagesServedWhole ?? 0],
    ])
    metric('lakou_relay_sync_frames_received_total', 'counter', 'Sync frames received from peers.', [
      ['', this.framesReceived],
    ])
    metric(
      'lakou_relay_peers_dropped_total',
      'counter',
      'Peers dropped, by reason.',
      [...this.droppedByReason].map(([reason, n]) => [`{reason="${reason}"}`, n]),
    )
    metric('lakou_relay_uptime_seconds', 'gauge', 'Seconds since the relay started.', [
      ['', Math.round((Date.now() - this.startedAt) / 1000)],
    ])
    metric('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', [
      ['', process.memoryUsage().rss],
    ])
    return `${lines.join('\n')}\n`
  }
}
