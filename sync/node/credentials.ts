// What a node shows in the access handshake and how it judges what others show. The opaque `certificate`
// of sync/net's hello is a CBOR bundle [device certificate, venue admission]: with the admission inside,
// any peer that knows only the federation key can check a device of a venue it has never heard of (a venue
// admitted after this device was set up). Relays are devices certified with the 'relay' role, by the
// federation or by an admitted venue.
import { cbor } from '@automerge/automerge-repo/slim'
import type { PeerAuthenticator, PeerPrincipal, PresentedCredentials } from '../net/mod.ts'
import { HandshakeRejectedError, verifyEd25519Now } from '../net/mod.ts'
import {
  bytesEqual,
  type DeviceCertificate,
  decodeSigned,
  type KeyPair,
  statementSignatureMessage,
  toHex,
  type VenueAdmission,
  verifySignatures,
} from './ledger.ts'

export function encodeCredentialBundle(certificate: Uint8Array, admission?: Uint8Array): Uint8Array {
  return new Uint8Array(cbor.encode(admission ? [certificate, admission] : [certificate]))
}

export function localCredentials(device: KeyPair, bundle: Uint8Array) {
  return { certificate: bundle, devicePublicKey: device.publicKey, sign: (m: Uint8Array) => device.sign(m) }
}

async function statementOf<K extends 'device-certificate' | 'venue-admission'>(bytes: unknown, kind: K) {
  if (!(bytes instanceof Uint8Array)) throw new HandshakeRejectedError(`${kind} is not bytes`)
  let d: ReturnType<typeof decodeSigned>
  try {
    d = decodeSigned(bytes)
  } catch (e) {
    throw new HandshakeRejectedError(`${kind} does not decode: ${(e as Error).message}`)
  }
  if (d.type !== 'statement' || d.statement.kind !== kind) throw new HandshakeRejectedError(`not a ${kind}`)
  if (!(await statementSigned(bytes, d))) throw new HandshakeRejectedError(`${kind} signature is invalid`)
  return d.statement as K extends 'device-certificate' ? DeviceCertificate : VenueAdmission
}

/** Statements (hash and signature) whose signature held: every hello of a returning peer carries the same. */
const signedStatements = new Set<string>()
const MAX_SIGNED_STATEMENTS = 10_000

/**
 * A hello's certificate and admission are checked on this thread where the runtime can (sync/net
 * verifyEd25519Now), not on libuv's pool behind a loaded till's bulk work, and once per statement.
 */
async function statementSigned(bytes: Uint8Array, d: ReturnType<typeof decodeSigned>): Promise<boolean> {
  if (d.type !== 'statement' || d.signatures.length !== 1) return verifySignatures(bytes)
  const signature = d.signatures[0]!
  const key = `${toHex(d.hash)} ${toHex(signature)}`
  if (signedStatements.has(key)) return true
  const ok = verifyEd25519Now
    ? verifyEd25519Now(d.statement.issuer, signature, statementSignatureMessage(d.hash))
    : await verifySignatures(bytes)
  if (ok) {
    if (signedStatements.size >= MAX_SIGNED_STATEMENTS) signedStatements.clear()
    signedStatements.add(key)
  }
  return ok
}

export interface CertificateAuthenticatorOptions {
  federationKey: Uint8Array
  /** Devices revoked (hex public keys): refused whatever their certificate says. */
  isRevoked?: (deviceHex: string) => boolean
  clock?: () => number
}

/** Judges hello bundles against the federation key alone. */
export class CertificateAuthenticator implements PeerAuthenticator {
  readonly #options: CertificateAuthenticatorOptions

  constructor(options: CertificateAuthenticatorOptions) {
    this.#options = options
  }

  async authenticate(presented: PresentedCredentials): Promise<PeerPrincipal> {
    let parts: unknown
    try {
      parts = cbor.decode(presented.certificate)
    } catch {
      throw new HandshakeRejectedError('certificate bundle does not decode')
    }
    if (!Array.isArray(parts) || parts.length < 1 || parts.length > 2) {
      throw new HandshakeRejectedError('certificate bundle must be [certificate, admission?]')
    }
    const cert = await statementOf(parts[0], 'device-certificate')
    if (!bytesEqual(cert.device, presented.devicePublicKey)) {
      throw new HandshakeRejectedError('certificate is for another device key')
    }
    const now = (this.#options.clock ?? Date.now)()
    if (cert.notBefore > now || (cert.notAfter !== 0 && cert.notAfter < now)) {
      throw new HandshakeRejectedError('certificate is outside its validity window')
    }
    const deviceHex = toHex(cert.device)
    if (this.#options.isRevoked?.(deviceHex)) throw new HandshakeRejectedError('device is revoked')
    const fed = this.#options.federationKey
    const isRelay = cert.roles.includes('relay')
    if (bytesEqual(cert.issuer, fed)) {
      if (!isRelay) throw new HandshakeRejectedError('the federation certifies only relays directly')
      return { kind: 'relay', devicePublicKey: cert.device, role: 'relay' }
    }
    const admission = await statementOf(parts[1], 'venue-admission')
    if (!bytesEqual(admission.issuer, fed))
      throw new HandshakeRejectedError('venue admitted by another federation')
    if (!bytesEqual(admission.venue, cert.issuer))
      throw new HandshakeRejectedError('admission is for another venue')
    const venueId = toHex(cert.issuer)
    if (isRelay) return { kind: 'relay', devicePublicKey: cert.device, venueId, role: 'relay' }
    return { kind: 'device', devicePublicKey: cert.device, venueId, role: cert.roles[0] ?? 'cashier' }
  }
}
