// `lakou demo`: a federation with one venue (deterministic demo keys), a seeded catalog and agenda, demo
// cards on an in-process reader with tap buttons in the UI, data in ./data/demo, served on localhost.
import { existsSync } from 'node:fs'
import { appendFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { createFixture, type Fixture } from '../../ledger/mod.ts'
import { DIST_APP, ensureAppBuilt } from './build-app.ts'
import { type CardReaderPort, type EmulatedCard, EmulatedCardReader } from './card-reader.ts'
import { CatalogStore } from './catalog-store.ts'
import {
  addressesFile,
  demoIssuers,
  ensureDemoVenue,
  ensureTill,
  readAddresses,
  VENUE_NAME,
} from './demo-setup.ts'
import { enrollFromCode } from './enrollment.ts'
import { AppServer } from './http-server.ts'
import { LocalLedgerBackend } from './local-ledger.ts'
import { NodeLedgerBackend } from './node-backend.ts'
import { PairingService } from './pairing.ts'
import { startDemoPrinting } from './printing.ts'
import { demoVirtualCards, SimulatedCardReader } from './sim-card-reader.ts'
import { SyncedCatalog } from './synced-catalog.ts'
import { VenueService } from './venue-service.ts'

export interface DemoOptions {
  dataDir: string
  /** 'node': venue node with libp2p sync (default); 'local': one device, no network. */
  mode: 'node' | 'local'
  /** Start a second till that joins the demo in dataDir (enrolled by its venue, syncs with the first). */
  join: boolean
  /** Enrollment code (the QR code's URL) from the admin screen: enroll this new till through it. */
  enroll: string | undefined
  tillName: string
  port: number
  host: string
  /** Loopback browsers must pair with a code too (by default they are admin without one). */
  requirePairing: boolean
  /** Skip `vite build` (tests build once beforehand). */
  build: boolean
  log: (line: string) => void
}

export function parseDemoArgs(args: string[]): DemoOptions {
  const value = (name: string) => {
    const i = args.indexOf(name)
    return i >= 0 ? args[i + 1] : undefined
  }
  const port = Number(value('--port') ?? process.env.PORT ?? (args.includes('--join') ? 8788 : 8787))
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`--port: ${value('--port')}`)
  const enroll = value('--enroll')
  const join = args.includes('--join') || enroll !== undefined
  return {
    enroll,
    mode: args.includes('--local') ? 'local' : 'node',
    join,
    tillName:
      value('--name') ??
      (enroll ? new URL(enroll).searchParams.get('name') : null) ??
      (join ? 'Caisse terrasse' : 'Caisse bar'),
    dataDir: resolve(value('--data') ?? 'data/demo'),
    port,
    host: value('--host') ?? '127.0.0.1',
    requirePairing: args.includes('--require-pairing'),
    build: !args.includes('--no-build'),
    log: console.log,
  }
}

export function demoCards(fx: Fixture): EmulatedCard[] {
  const venue = fx.venues[0]!
  const [alex, sam] = fx.signingCards
  const [lou, noa] = fx.tagCards
  return [
    { card: venue.staffCard, kind: 'staff', label: 'Camille (équipe)' },
    { card: alex!.card, kind: 'signing', label: 'Alex', signer: alex },
    { card: sam!.card, kind: 'signing', label: 'Sam', signer: sam },
    { card: lou!, kind: 'tag', label: 'Lou' },
    { card: noa!, kind: 'tag', label: 'Noa' },
  ]
}

/** First start only: a few top-ups, a membership and a ticket, so the screens have something to show. */
async function seedLedger(service: VenueService, reader: CardReaderPort): Promise<void> {
  const [staff, alex, sam, lou] = reader.tappable().map((c) => c.cardId)
  await reader.tap(staff!)
  await service.call('session.open', { staffCardId: staff! })
  const topUp = async (cardId: string, amount: number, paidBy: 'cash' | 'bankcard') => {
    await reader.tap(cardId)
    await service.call('card.topUp', { cardId, asset: 'EUR', amount, paidBy })
  }
  await topUp(alex!, 2000, 'cash')
  await topUp(sam!, 500, 'bankcard')
  await topUp(lou!, 1000, 'cash')
  await reader.tap(alex!)
  await service.call('membership.sell', { cardId: alex!, planId: 'member-year', paidBy: 'cash' })
  await service.call('ticket.sell', {
    cardId: alex!,
    eventId: 'concert',
    ticketTypeId: 'concert-member',
    paidBy: 'cash',
  })
  await reader.tap(staff!) // only the staff card that opened the session closes it
  await service.call('session.close', {})
  await reader.remove()
}

async function makeBackend(o: DemoOptions, fx: Fixture) {
  const venue = fx.venues[0]!
  if (o.mode === 'local') {
    const backend = new LocalLedgerBackend({
      dataDir: join(o.dataDir, 'ledger'),
      device: venue.cashier.key,
      deviceLabel: o.tillName,
      venueName: 'Café Lakou',
      federationKeys: [fx.federation.publicKey],
      statements: fx.statements,
    })
    const reader = new EmulatedCardReader(demoCards(fx))
    return {
      backend,
      reader,
      catalogDir: o.dataDir,
      catalog: new CatalogStore(o.dataDir),
      afterStart: async () => undefined,
      issuers: undefined,
      enrollmentPackage: undefined,
    }
  }
  // Cards live in the demo folder, shared by its tills: a card carried from one till to the other.
  const cards = demoVirtualCards('lakou-demo', join(o.dataDir, 'cards'))
  await ensureDemoVenue(o.dataDir, cards[0]!.card)
  let peers = o.join ? await readAddresses(o.dataDir) : []
  let tillDir: string
  if (o.enroll) {
    tillDir = join(o.dataDir, slug(o.tillName))
    if (!existsSync(join(tillDir, 'node.json'))) peers = (await enrollFromCode(o.enroll, tillDir)).peers
  } else tillDir = await ensureTill(o.dataDir, o.join ? slug(o.tillName) : 'till', o.tillName)
  const backend = new NodeLedgerBackend({
    dataDir: tillDir,
    deviceLabel: o.tillName,
    venueName: VENUE_NAME,
    peers,
    log: () => undefined,
  })
  const afterStart = async () => {
    if (!o.join) await writeFile(addressesFile(o.dataDir), JSON.stringify(backend.addresses()))
    o.log(`Lakou node ${o.tillName}: ${backend.addresses().join(' ')}`)
  }
  const reader = new SimulatedCardReader(cards, backend.tagCodec)
  const issuers = demoIssuers(o.dataDir, (doc, bytes) => backend.publishStatement(doc, bytes))
  const enrollmentPackage = (cert: Uint8Array, roles: string[]) => backend.enrollmentPackage(cert, roles)
  // The venue's first till writes the seed (its catalog.json, made once) as the first signed config
  // entries; tills that join read the venue's config from sync.
  const seedFile = new CatalogStore(tillDir)
  const catalog = new SyncedCatalog(
    backend.venueConfig,
    o.join
      ? {}
      : {
          seed: async () => {
            await seedFile.load()
            return seedFile.get()
          },
        },
  )
  return { backend, reader, catalogDir: tillDir, catalog, afterStart, issuers, enrollmentPackage }
}

const slug = (s: string) =>
  s
    .toLowerCase()
    .normalize('NFD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '') || 'till2'

export interface RunningDemo {
  url: string
  service: VenueService
  /** Prints a fresh admin pairing code (the first one expires after 10 minutes). */
  printPairingCode(): void
  stop(): Promise<void>
}

export async function startDemo(o: DemoOptions): Promise<RunningDemo> {
  if (o.build) ensureAppBuilt(o.log)
  const fx = await createFixture('lakou-demo', { venues: 1, signingCards: 2, tagCards: 2 })
  const { backend, reader, catalogDir, catalog, afterStart, issuers, enrollmentPackage } = await makeBackend(
    o,
    fx,
  )
  // Printer routes are read at each kitchen ticket (they follow the synced config).
  const printer = await startDemoPrinting(catalogDir, () => catalog.get().categories)
  const service = new VenueService({
    backend,
    reader,
    catalog,
    printer,
    ...(issuers ? { issuers } : {}),
    ...(enrollmentPackage ? { enrollmentPackage } : {}),
    // The staff card's proofs of each till session (open, close), one JSON line each.
    onSessionProof: (p) =>
      appendFile(
        join(catalogDir, 'till-sessions.jsonl'),
        `${JSON.stringify({
          at: new Date().toISOString(),
          action: p.action,
          staffCardId: p.staffCardId,
          till: p.till,
          cardSeq: p.cardSeq,
          messageHash: Buffer.from(p.messageHash).toString('hex'),
          signature: p.signature ? Buffer.from(p.signature).toString('hex') : null,
        })}\n`,
      ),
  })
  await service.start()
  await catalog.load() // after the backend: the synced catalog reads the started node
  await afterStart()
  // Seed once per demo folder (a marker, not the index: after a restart the index fills in the background).
  const seeded = join(catalogDir, 'demo-seeded')
  if (!o.join && !existsSync(seeded)) {
    await seedLedger(service, reader)
    await writeFile(seeded, new Date().toISOString())
  }
  // Paired browsers (token hashes) are kept per till, so a tablet stays paired across restarts.
  const pairing = new PairingService({ file: join(catalogDir, 'pairings.json') })
  const server = new AppServer({
    staticDir: DIST_APP,
    handler: service,
    enroll: (body) => service.redeemEnrollment(body),
    pairing,
    loopbackAdmin: !o.requirePairing,
    host: o.host,
    port: o.port,
  })
  await server.start()
  service.publicUrl = server.url
  const printPairingCode = () => {
    const admin = pairing.offer('admin', 'console')
    o.log(
      `Pairing code (admin, until ${new Date(admin.expiresAt).toLocaleTimeString()}): ${admin.code}` +
        (o.requirePairing ? '' : '  (browsers on this machine are admin without a code)'),
    )
  }
  printPairingCode()
  o.log(`Lakou demo: ${server.url}  (data in ${o.dataDir}; Ctrl-C to stop)`)
  return {
    url: server.url,
    service,
    printPairingCode,
    async stop() {
      await server.stop()
      await service.stop()
      await printer.stop()
    },
  }
}

export async function runDemo(args: string[]): Promise<void> {
  const demo = await startDemo(parseDemoArgs(args))
  // On a terminal, Enter prints a new pairing code (the node may run headless on a LAN with --host).
  const onLine = () => demo.printPairingCode()
  if (process.stdin.isTTY) {
    console.log('(press Enter for a new pairing code)')
    process.stdin.on('data', onLine)
  }
  await new Promise<void>((done) => {
    process.once('SIGINT', () => done())
    process.once('SIGTERM', () => done())
  })
  process.stdin.off('data', onLine)
  process.stdin.pause()
  await demo.stop()
}
