// A venue node in its own OS process, driven by tests and benches over stdin/stdout (one JSON object per
// line). Run: node sync/node/run-bundled.mjs sync/test/node-proc.ts --data DIR [--relay A]
// Commands: {id, cmd: 'dial'|'append'|'stream'|'stats'|'block'|'unblock'|'echo'|'stop', ...}. Replies:
// {id, ok, ...}. Unsolicited events: {event: 'ready'|'ack'|'validated'}.
import { multiaddr } from '@multiformats/multiaddr'
import { enableStageTrace, lastStamps } from '../docs/stage-trace.ts'
import { sha256, toHex } from '../node/ledger.ts'
import { createVenueNode } from '../node/venue-node.ts'
import { emit, serveCommands } from './json-lines-child.ts'

const args = process.argv.slice(2)
const arg = (name: string) => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}
const all = (name: string) => args.flatMap((a, i) => (a === name && args[i + 1] ? [args[i + 1]!] : []))
const out = emit
const now = () => performance.timeOrigin + performance.now()

const ECHO = '/lakou/bench-echo/1.0.0'
const tStart = performance.now()
const node = await createVenueNode({
  dataDir: arg('--data')!,
  listen: ['/ip4/127.0.0.1/tcp/0'],
  relays: all('--relay'),
  mdns: false,
  checkpointEveryMs: Number(arg('--checkpoint-ms') ?? 1000),
  ...(arg('--page') ? { pageCapacity: Number(arg('--page')) } : {}),
  log: (l) => process.stderr.write(`${l}\n`),
})
const reportValidated = args.includes('--report-validated')
enableStageTrace(reportValidated)
// Chained: the node's anti-entropy (sync/node/chain-gossip.ts) listens there too.
const beforeOnRecord = node.sink.onRecord
node.sink.onRecord = (hash, bytes) => {
  beforeOnRecord?.(hash, bytes)
  if (reportValidated) out({ event: 'validated', hash, t: now(), stages: lastStamps() })
}

// Partitions: network.blockPeer cuts a peer off at the transport (no dial, connections closed); once
// unblocked the nodes redial each other by themselves (sync/net/reconnect.ts).
const blocked = new Set<string>()

await node.network.host.handle(ECHO, async (stream) => {
  for await (const chunk of stream) stream.send(chunk.subarray())
})

let card = 0
const topUp = (amount: number) => {
  card++
  const id = new Uint8Array(8)
  id[0] = 2
  new DataView(id.buffer).setUint32(4, card)
  return {
    kind: 'top-up',
    chain: { card: id, cardSeq: 1, cardPrev: new Uint8Array(32) },
    asset: 'EUR',
    amount,
    method: 'cash',
  }
}

let streaming = false
async function handle(c: Record<string, unknown>): Promise<Record<string, unknown>> {
  switch (c.cmd) {
    case 'dial': {
      await node.network.host.dial(multiaddr(String(c.addr)))
      await node.network.access.whenAuthenticated(String(c.peerId), 10_000)
      return {}
    }
    case 'append': {
      const t = now()
      const r = await node.appendRecord(topUp(Number(c.amount ?? 100)) as never)
      return {
        hash: toHex(r.hash),
        deviceSeq: r.deviceSeq,
        t,
        ackMs: now() - t,
        trace: node.lastAppendTrace(),
      }
    }
    case 'stream': {
      // Appends back to back (or every intervalMs), reporting each acknowledged one, until 'stopStream'.
      streaming = true
      void (async () => {
        while (streaming) {
          const r = await node.appendRecord(topUp(1) as never)
          out({ event: 'ack', hash: toHex(r.hash), deviceSeq: r.deviceSeq })
          if (c.intervalMs) await new Promise((res) => setTimeout(res, Number(c.intervalMs)))
        }
      })()
      return {}
    }
    case 'stopStream':
      streaming = false
      return {}
    case 'stats': {
      await node.idle()
      const device = toHex(node.device.publicKey)
      const chains = Object.fromEntries([...node.sink.devices.keys()].map((d) => [d, node.sink.chainOf(d)]))
      return {
        size: node.sink.size,
        digest: node.sink.digest(),
        own: node.sink.chainOf(device),
        chains,
        status: node.status().summary,
        online: node.status().online,
        rss: process.memoryUsage().rss,
        ledger: node.ledger.counts(),
        ledgerDigest: toHex(sha256(new TextEncoder().encode(JSON.stringify(node.ledger.snapshot())))),
      }
    }
    case 'pages': {
      // Ledger pages this node knows (classified), which of them are loaded in the repo, and how far each
      // is indexed: full, indexed pages must have left memory.
      await node.idle()
      const known = node.status().docs.map((d) => ({ documentId: d.documentId, indexed: d.indexed }))
      const loaded = Object.values(node.repo.handles)
        .filter((h) => h.isReady() && node.layout.classify(h.documentId)?.kind === 'ledger-page')
        .map((h) => h.documentId)
      return { known, loaded, cameWhole: node.layout.pagesCameWhole }
    }
    case 'has': {
      await node.idle()
      const hashes = c.hashes as string[]
      return { missing: hashes.filter((h) => !node.sink.has(h)) }
    }
    case 'block': {
      for (const p of c.peerIds as string[]) {
        blocked.add(p)
        await node.network.blockPeer(p)
      }
      return {}
    }
    case 'unblock':
      for (const p of blocked) node.network.unblockPeer(p)
      blocked.clear()
      return {}
    case 'echo': {
      // Raw libp2p stream echo round trips to a peer (the floor under any sync latency).
      const conn = node.network.host.getConnections().find((x) => x.remotePeer.toString() === c.peerId)
      if (!conn) throw new Error('not connected')
      const stream = await conn.newStream(ECHO)
      const it = stream[Symbol.asyncIterator]()
      const rtts: number[] = []
      const payload = new Uint8Array(64)
      for (let i = 0; i < Number(c.count ?? 50); i++) {
        const t = performance.now()
        stream.send(payload)
        let got = 0
        while (got < payload.length) {
          const r = await it.next()
          if (r.done) throw new Error('echo stream ended')
          got += r.value.byteLength
        }
        rtts.push(performance.now() - t)
        await new Promise((res) => setTimeout(res, Number(c.gapMs ?? 20)))
      }
      await stream.close().catch(() => {})
      return { rtts }
    }
    case 'configAppend': {
      // A venue config entry signed by this device (refused unless it is an admin of the venue).
      const payload = new TextEncoder().encode(JSON.stringify(c.value))
      const e = await node.appendConfig(c.section as never, payload)
      return { version: e.version, hash: toHex(e.hash) }
    }
    case 'configForge': {
      // A rogue device writing an entry straight into the venue doc (no local trust check): peers must
      // receive it and refuse it.
      const { signVenueConfig, fromHex } = await import('../node/ledger.ts')
      const entry = await signVenueConfig(
        {
          venue: fromHex(node.config.venueId!),
          section: c.section as never,
          version: Number(c.version),
          time: Date.now(),
          payload: new TextEncoder().encode(JSON.stringify(c.value)),
        },
        node.device,
      )
      const venue = await node.repo.find<{ config?: Uint8Array[] }>(node.config.venueUrl as never)
      venue.change((d) => {
        d.config ??= []
        d.config.push(entry.bytes)
      })
      await node.repo.flush([venue.documentId])
      return { hash: toHex(entry.hash) }
    }
    case 'config': {
      const r = await node.refreshConfig()
      const sections = Object.fromEntries(
        Object.entries(r.sections).map(([s, e]) => [
          s,
          {
            version: e.version,
            signer: toHex(e.signer),
            value: JSON.parse(new TextDecoder().decode(e.payload)),
          },
        ]),
      )
      return { sections, rejected: r.rejected.map((x) => x.error.name) }
    }
    case 'ledgerReady': {
      const r = await node.ledgerReady
      return { ...r, ledger: node.ledger.counts() }
    }
    case 'stop':
      streaming = false
      await node.stop()
      setTimeout(() => process.exit(0), 50)
      return {}
    default:
      throw new Error(`unknown command ${String(c.cmd)}`)
  }
}

serveCommands(handle)
// startMs: createVenueNode alone; uptimeMs: since this process started (Node, tsx and imports included).
out({
  event: 'ready',
  peerId: node.peerId,
  addresses: node.addresses(),
  device: toHex(node.device.publicKey),
  startMs: performance.now() - tStart,
  uptimeMs: performance.now(),
})
