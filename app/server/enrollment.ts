// Enrolling a till by QR code. The admin screen offers a one-time code (a URL on the admin node, shown as
// a QR code). The new device makes its own key, sends only the public key with the code; the admin node
// certifies it with the venue key, publishes the certificate in the venue document, and answers with what
// the device needs to start: its node config (credential bundle), a copy of the federation and venue
// documents, and the admin node's addresses to sync with. The private key never leaves the new device.
import { randomBytes } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { type AutomergeUrl, type DocumentId, Repo } from '@automerge/automerge-repo'
import { fromHex, toHex } from '../../ledger/mod.ts'
import { DurableFsStorageAdapter } from '../../sync/docs/durable-storage.ts'
import { dataPaths, type NodeConfig, writeNodeConfig } from '../../sync/node/config.ts'
import { loadKey } from '../../sync/node/files.ts'
import { InvalidRequestError, NotFoundError } from './errors.ts'

export interface EnrollmentPackage {
  config: NodeConfig
  /** Automerge documents (url -> base64 of the saved document). */
  docs: Record<string, string>
  peers: string[]
}

export interface EnrollmentIssuer {
  /** Certifies the device key and returns the package a new device starts from. */
  enroll(devicePublicKey: Uint8Array, roles: string[], label: string): Promise<EnrollmentPackage>
}

interface Offer {
  roles: string[]
  label: string
  expiresAt: number
}

/** One-time enrollment codes offered by the admin screen (10 minutes, used once). */
export class EnrollmentOffers {
  private readonly offers = new Map<string, Offer>()

  constructor(private readonly now: () => number = Date.now) {}

  create(roles: string[], label: string): { token: string; expiresAt: number } {
    const token = randomBytes(16).toString('hex')
    const expiresAt = this.now() + 10 * 60_000
    this.offers.set(token, { roles, label, expiresAt })
    return { token, expiresAt }
  }

  /** Consumes a code: a second use or an expired code is refused. */
  take(token: string): Offer {
    const offer = this.offers.get(token)
    this.offers.delete(token)
    if (!offer || offer.expiresAt < this.now()) throw new NotFoundError('unknown or expired enrollment code')
    return offer
  }

  async redeem(body: unknown, issuer: EnrollmentIssuer): Promise<EnrollmentPackage> {
    const b = body as { token?: unknown; device?: unknown }
    if (typeof b?.token !== 'string' || typeof b.device !== 'string' || !/^[0-9a-f]{64}$/.test(b.device))
      throw new InvalidRequestError('expected { token, device: 64 hex digits }')
    const offer = this.take(b.token)
    return issuer.enroll(fromHex(b.device), offer.roles, offer.label)
  }
}

/** Device side: makes the key, redeems the code, installs config and documents in `dataDir`. */
export async function enrollFromCode(
  code: string,
  dataDir: string,
): Promise<{ peers: string[]; label: string }> {
  const url = new URL(code)
  const token = url.searchParams.get('token')
  if (!token) throw new InvalidRequestError('the enrollment code has no token')
  await mkdir(dataDir, { recursive: true })
  const device = await loadKey(dataPaths(dataDir).deviceKey, { create: true })
  const res = await fetch(new URL('/enroll', url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, device: toHex(device.publicKey) }),
  })
  const answer = (await res.json()) as EnrollmentPackage | { error: { name: string; message: string } }
  if (!res.ok || 'error' in answer)
    throw new Error(`enrollment refused: ${'error' in answer ? answer.error.message : res.status}`)
  const repo = new Repo({ storage: new DurableFsStorageAdapter(dataPaths(dataDir).automerge) })
  for (const [docUrl, b64] of Object.entries(answer.docs)) {
    const handle = repo.import(new Uint8Array(Buffer.from(b64, 'base64')), {
      docId: docUrl.slice('automerge:'.length) as DocumentId,
    })
    handle.doneLoading()
  }
  await repo.flush(Object.keys(answer.docs).map((u) => u.slice('automerge:'.length) as DocumentId))
  await repo.shutdown()
  await writeNodeConfig(dataDir, answer.config)
  return { peers: answer.peers, label: url.searchParams.get('name') ?? 'till' }
}

/** Reads the documents a new device needs from a running node's repo. */
export async function exportDocs(repo: Repo, urls: string[]): Promise<Record<string, string>> {
  const docs: Record<string, string> = {}
  for (const url of urls) {
    const bytes = await repo.export(url as AutomergeUrl)
    if (bytes) docs[url] = Buffer.from(bytes).toString('base64')
  }
  return docs
}
