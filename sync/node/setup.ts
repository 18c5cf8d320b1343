// Setting a network up from the command line: create a federation, admit a venue, enroll a device.
// Each role has its own data dir holding its key (mode 0600). Documents are created in the issuer's dir
// and copied into the new member's dir (Automerge save/load, same document ids), so a freshly enrolled
// device can start and sell before it has met anyone; copies merge when devices meet.

import { promises as fs } from 'node:fs'
import { type AutomergeUrl, type DocHandle, type DocumentId, Repo } from '@automerge/automerge-repo'
import { DurableFsStorageAdapter } from '../docs/durable-storage.ts'
import { asUrl, DocumentLayout, type FederationDoc, type VenueDoc } from '../docs/mod.ts'
import { dataPaths, type NodeConfig, writeNodeConfig } from './config.ts'
import { encodeCredentialBundle } from './credentials.ts'
import { NodeConfigError } from './errors.ts'
import { loadKey, writeFileDurably } from './files.ts'
import { type Role, signStatement, toHex } from './ledger.ts'

export interface FederationSetup {
  kind: 'federation'
  federationKey: string
  federationUrl: string
}

export interface VenueSetup {
  kind: 'venue'
  federationKey: string
  federationUrl: string
  venueId: string
  venueUrl: string
  name: string
  /** Hex of the federation's signed admission of this venue. */
  admission: string
}

const idOf = (url: string) => url.slice('automerge:'.length) as DocumentId

async function openRepo(dataDir: string): Promise<Repo> {
  const repo = new Repo({ storage: new DurableFsStorageAdapter(dataPaths(dataDir).automerge) })
  // The repo writes its storage-adapter-id in the background when it starts: wait for it, so nothing is
  // still writing into the data dir once setup resolves (a caller may move or delete it at once).
  await repo.storageId()
  return repo
}

async function readSetup<T extends FederationSetup | VenueSetup>(
  dataDir: string,
  kind: T['kind'],
): Promise<T> {
  try {
    const s = JSON.parse(await fs.readFile(dataPaths(dataDir).setup, 'utf8')) as T
    if (s.kind !== kind) throw new Error(`it is a ${s.kind} dir`)
    return s
  } catch (e) {
    throw new NodeConfigError(`${dataDir} is not a ${kind} data dir: ${(e as Error).message}`)
  }
}

/** Copies documents from one repo into another (same ids), on disk when this resolves. */
async function copyDocs(from: Repo, to: Repo, urls: string[]): Promise<void> {
  for (const url of urls) {
    const bytes = await from.export(url as AutomergeUrl)
    if (!bytes) throw new NodeConfigError(`${url} is not in the source data dir`)
    const h = to.import(bytes, { docId: idOf(url) })
    h.doneLoading()
  }
  await to.flush(urls.map(idOf))
}

export async function createFederation(
  dataDir: string,
  options: { euro?: boolean } = {},
): Promise<FederationSetup> {
  const key = await loadKey(dataPaths(dataDir).federationKey, { create: true })
  const repo = await openRepo(dataDir)
  const layout = new DocumentLayout(repo)
  const fed = layout.createFederation(toHex(key.publicKey))
  const time = Date.now()
  await layout.addEntry(
    fed,
    await signStatement(
      {
        kind: 'federation-policy',
        issuer: key.publicKey,
        time,
        version: 1,
        offlineCeiling: { signing: 50_000, tag: 15_000 },
      },
      key,
    ),
  )
  if (options.euro ?? true) {
    await layout.addEntry(
      fed,
      await signStatement(
        {
          kind: 'asset-definition',
          issuer: key.publicKey,
          time,
          asset: 'EUR',
          assetKind: 'euro',
          decimals: 2,
          refundable: true,
          floor: 0,
          name: 'Euro',
        },
        key,
      ),
    )
  }
  const setup: FederationSetup = {
    kind: 'federation',
    federationKey: toHex(key.publicKey),
    federationUrl: fed.url,
  }
  await writeFileDurably(dataPaths(dataDir).setup, `${JSON.stringify(setup, null, 2)}\n`)
  await repo.shutdown()
  return setup
}

export async function admitVenue(federationDir: string, venueDir: string, name: string): Promise<VenueSetup> {
  const fedSetup = await readSetup<FederationSetup>(federationDir, 'federation')
  const fedKey = await loadKey(dataPaths(federationDir).federationKey)
  const venueKey = await loadKey(dataPaths(venueDir).venueKey, { create: true })
  const venueId = toHex(venueKey.publicKey)
  const admission = await signStatement(
    { kind: 'venue-admission', issuer: fedKey.publicKey, time: Date.now(), venue: venueKey.publicKey, name },
    fedKey,
  )
  const fedRepo = await openRepo(federationDir)
  const layout = new DocumentLayout(fedRepo)
  const fed = await fedRepo.find<FederationDoc>(fedSetup.federationUrl as AutomergeUrl)
  const existing = fed.doc().venues[venueId]
  const venue = existing ? await fedRepo.find<VenueDoc>(asUrl(existing)) : layout.createVenue(fed, venueId)
  await layout.addEntry(fed, admission)
  await fedRepo.flush()
  const venueRepo = await openRepo(venueDir)
  await copyDocs(fedRepo, venueRepo, [fed.url, venue.url, String(venue.doc().personal)])
  await Promise.all([fedRepo.shutdown(), venueRepo.shutdown()])
  const setup: VenueSetup = {
    kind: 'venue',
    federationKey: fedSetup.federationKey,
    federationUrl: fedSetup.federationUrl,
    venueId,
    venueUrl: venue.url,
    name,
    admission: toHex(admission),
  }
  await writeFileDurably(dataPaths(venueDir).setup, `${JSON.stringify(setup, null, 2)}\n`)
  return setup
}

export interface EnrollOptions {
  roles: Role[]
  label?: string
  /** ms since epoch; 0 = open. */
  notAfter?: number
}

/**
 * Enrolls a device of a venue (issuerDir is a venue dir) or a federation relay (issuerDir is the federation
 * dir, roles ['relay']): creates the device key in deviceDir, certifies it, writes deviceDir/node.json.
 */
export async function enrollDevice(
  issuerDir: string,
  deviceDir: string,
  options: EnrollOptions,
): Promise<NodeConfig> {
  const raw = JSON.parse(await fs.readFile(dataPaths(issuerDir).setup, 'utf8').catch(() => '{}')) as {
    kind?: string
  }
  const device = await loadKey(dataPaths(deviceDir).deviceKey, { create: true })
  const label = options.label ?? `device-${toHex(device.publicKey).slice(0, 8)}`
  const certify = async (issuer: Awaited<ReturnType<typeof loadKey>>) =>
    signStatement(
      {
        kind: 'device-certificate',
        issuer: issuer.publicKey,
        time: Date.now(),
        device: device.publicKey,
        roles: options.roles,
        notBefore: 0,
        notAfter: options.notAfter ?? 0,
        label,
      },
      issuer,
    )
  let config: NodeConfig
  const issuerRepo = await openRepo(issuerDir)
  const deviceRepo = await openRepo(deviceDir)
  const layout = new DocumentLayout(issuerRepo)
  if (raw.kind === 'venue') {
    const s = await readSetup<VenueSetup>(issuerDir, 'venue')
    const cert = await certify(await loadKey(dataPaths(issuerDir).venueKey))
    const venue = await issuerRepo.find<VenueDoc>(s.venueUrl as AutomergeUrl)
    await layout.addEntry(venue as DocHandle<VenueDoc>, cert)
    await copyDocs(issuerRepo, deviceRepo, [s.federationUrl, s.venueUrl, String(venue.doc().personal)])
    config = {
      v: 1,
      federationKey: s.federationKey,
      federationUrl: s.federationUrl,
      venueId: s.venueId,
      venueUrl: s.venueUrl,
      bundle: toHex(encodeCredentialBundle(cert, new Uint8Array(Buffer.from(s.admission, 'hex')))),
      roles: options.roles,
    }
  } else if (raw.kind === 'federation') {
    if (options.roles.join() !== 'relay')
      throw new NodeConfigError('the federation enrolls only relays (--roles relay)')
    const s = await readSetup<FederationSetup>(issuerDir, 'federation')
    const cert = await certify(await loadKey(dataPaths(issuerDir).federationKey))
    const fed = await issuerRepo.find<FederationDoc>(s.federationUrl as AutomergeUrl)
    await layout.addEntry(fed, cert)
    await copyDocs(issuerRepo, deviceRepo, [s.federationUrl])
    config = {
      v: 1,
      federationKey: s.federationKey,
      federationUrl: s.federationUrl,
      bundle: toHex(encodeCredentialBundle(cert)),
      roles: options.roles,
    }
  } else {
    throw new NodeConfigError(`${issuerDir} is neither a venue nor a federation data dir`)
  }
  await Promise.all([issuerRepo.shutdown(), deviceRepo.shutdown()])
  await writeNodeConfig(deviceDir, config)
  return config
}
