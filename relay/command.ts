// `lakou relay --data <dir> [--listen <multiaddr>]... [--ws-port N] [--http-port N] [--announce <multiaddr>]...
//              [--peer <relay multiaddr>]...` (other relays of the federation, kept connected and synced)
// The data dir is a relay enrolled by the federation (`node.json` with the relay certificate bundle and
// `device.key`, see sync/node/setup.ts). The relay follows the federation directory so it holds, stores and
// forwards every document it may hold; personal-data documents only reach devices of their own venue.
import type { AutomergeUrl, DocumentId } from '@automerge/automerge-repo'
import { fromHex } from '../ledger/mod.ts'
import type { Command } from '../scripts/cli.ts'
import { DurableFsStorageAdapter } from '../sync/docs/durable-storage.ts'
import { DocumentLayout } from '../sync/docs/mod.ts'
import {
  CertificateAuthenticator,
  dataPaths,
  documentAccess,
  loadKey,
  localCredentials,
  readNodeConfig,
} from '../sync/node/mod.ts'
import { relayCompletePage, unloadFullPages } from './full-pages.ts'
import { type RelayServer, startRelay } from './relay-server.ts'

export class RelayUsageError extends Error {
  static readonly NAME = 'RelayUsageError'
  override readonly name = RelayUsageError.NAME
}

export interface RelayArgs {
  data: string
  listen: string[]
  wsPort: number
  httpPort: number
  announce: string[]
  peers: string[]
}

export function parseRelayArgs(args: string[]): RelayArgs {
  const out: RelayArgs = { data: '', listen: [], wsPort: 4002, httpPort: 4003, announce: [], peers: [] }
  const port = (flag: string, v: string | undefined) => {
    const n = Number(v)
    if (v === undefined || !Number.isInteger(n) || n < 0 || n > 65535) {
      throw new RelayUsageError(`${flag} expects a port number (0-65535), got ${v}`)
    }
    return n
  }
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]
    const value = args[i + 1]
    if (flag === '--data' && value) out.data = value
    else if (flag === '--listen' && value) out.listen.push(value)
    else if (flag === '--announce' && value) out.announce.push(value)
    else if (flag === '--peer' && value) out.peers.push(value)
    else if (flag === '--ws-port') out.wsPort = port(flag, value)
    else if (flag === '--http-port') out.httpPort = port(flag, value)
    else throw new RelayUsageError(`unknown or incomplete option ${flag}`)
    i++
  }
  if (!out.data)
    throw new RelayUsageError('--data <dir> is required (a relay data dir enrolled by the federation)')
  if (out.listen.length === 0) out.listen.push('/ip4/0.0.0.0/tcp/4001')
  return out
}

/** The WebSocket and HTTP listeners bind where the first TCP listen address does. */
function bindHostOf(listen: string[]): string {
  const m = /^\/ip4\/([\d.]+)\//.exec(listen[0] ?? '')
  return m?.[1] ?? '0.0.0.0'
}

export async function runRelay(
  args: RelayArgs,
  log = (line: string) => console.log(line),
): Promise<RelayServer> {
  const config = await readNodeConfig(args.data)
  if (!config.roles.includes('relay')) {
    throw new RelayUsageError(`${args.data} is enrolled as ${config.roles.join(',')}, not as a relay`)
  }
  const device = await loadKey(dataPaths(args.data).deviceKey)
  let layout: DocumentLayout | undefined
  let completePage: ((id: DocumentId) => boolean) | undefined
  let stopUnloading = () => {}
  const followed = Promise.withResolvers<void>()
  const relay = await startRelay({
    dataDir: args.data,
    listen: args.listen,
    wsPort: args.wsPort,
    httpPort: args.httpPort,
    bindHost: bindHostOf(args.listen),
    ...(args.announce.length ? { announce: args.announce } : {}),
    ...(args.peers.length ? { peers: args.peers } : {}),
    credentials: localCredentials(device, fromHex(config.bundle)),
    authenticator: new CertificateAuthenticator({ federationKey: fromHex(config.federationKey) }),
    storage: new DurableFsStorageAdapter(dataPaths(args.data).automerge),
    documentAccess: documentAccess((id) => layout?.classify(id), followed.promise),
    // Assigned in onRepo, before the page protocol is handled.
    completePage: (id: DocumentId) => completePage?.(id) === true,
    onRepo: async (repo) => {
      layout = new DocumentLayout(repo)
      const known = layout
      const isComplete = relayCompletePage(repo, config.federationUrl, (id) => known.classify(id))
      completePage = isComplete
      stopUnloading = unloadFullPages(repo, (id) => known.unload(id), isComplete)
      // A full page the directory walk loads goes as soon as it is saved, holding its slot in the page window
      // until then: at most a window of pages in memory while a relay fetches a long history (WASM memory,
      // once grown, is never given back; a relay letting pages go only every 5 s peaked at 479 MB at 200k).
      layout.on('page', (h) => {
        if (!isComplete(h.documentId)) return
        known.retain(h.documentId)
        void known.unload(h.documentId).catch(() => {})
      })
      layout.on('malformed', (url, reason) => log(`lakou relay: ${url}: ${reason}`))
      await layout.follow(config.federationUrl as AutomergeUrl).finally(() => followed.resolve())
    },
    log,
  })
  const stopRelay = relay.stop
  relay.stop = async () => {
    stopUnloading()
    await stopRelay()
  }
  log(`lakou relay ${relay.peerId}`)
  for (const a of relay.addresses()) log(`listening ${a}`)
  if (relay.http) log(`http http://${bindHostOf(args.listen)}:${relay.http.port}/healthz`)
  return relay
}

export const relayCommand: Command = {
  summary:
    'run a relay: circuit relay v2 + store-and-forward peer (--data, --listen, --ws-port, --http-port)',
  async run(argv) {
    const args = parseRelayArgs(argv)
    // Signals are handled from the start: one arriving while the relay starts (following the directory)
    // stops it, with its flush, as soon as it is up, instead of killing it mid-write.
    let relay: RelayServer | undefined
    let signalled = false
    const stop = (r: RelayServer) =>
      r.stop().then(
        () => process.exit(0),
        (err) => {
          console.error(`lakou relay: stop failed: ${err}`)
          process.exit(1)
        },
      )
    const onSignal = () => {
      if (signalled) return
      signalled = true
      if (relay) void stop(relay)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    relay = await runRelay(args)
    if (signalled) void stop(relay)
  },
}
