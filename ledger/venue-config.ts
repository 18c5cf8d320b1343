// Venue configuration entries (catalog, membership plans, agenda, printer routes): signed, versioned
// entries in the venue doc. A replica trusts an entry only if an admin device of that venue signed it
// while its certificate was valid; for each (venue, section) the valid entry with the highest version
// wins, ties broken by the lower hash, so every replica with the same entries resolves the same config.
// The payload is opaque bytes (canonical JSON is fine): it is signed as bytes and never re-serialised.
import { bytesEqual, keyOf, Reader, toHex, Writer } from './bytes.ts'
import { type Signer, sha256, verifySignature } from './crypto.ts'
import { LedgerDecodeError } from './errors.ts'
import type { DeviceAuthority } from './trust.ts'

export const VENUE_CONFIG_SECTIONS = ['catalog', 'plans', 'agenda', 'printer-routes'] as const
export type VenueConfigSection = (typeof VENUE_CONFIG_SECTIONS)[number]

/** Format tag at the start of the unsigned bytes (never a record or statement kind). */
const MAGIC = new TextEncoder().encode('lakou/venue-config/v1')
const SIG_DOMAIN = new TextEncoder().encode('lakou/venue-config-sig/v1')
export const VENUE_CONFIG_MAX_PAYLOAD = 256 * 1024

export interface VenueConfigBody {
  venue: Uint8Array
  section: VenueConfigSection
  /** Monotonic per (venue, section); the highest valid one wins. */
  version: number
  /** Advisory ms since epoch; checked against the signer's certificate validity windows. */
  time: number
  payload: Uint8Array
}

export interface VenueConfigEntry extends VenueConfigBody {
  signer: Uint8Array
  signature: Uint8Array
  hash: Uint8Array
  bytes: Uint8Array
}

export type VenueConfigReason =
  | 'signature'
  | 'not-certified'
  | 'other-venue'
  | 'not-admin'
  | 'revoked'
  | 'validity'

/** A well-formed entry that may not be trusted (`reason` is stable). */
export class VenueConfigRejectedError extends Error {
  static readonly NAME = 'VenueConfigRejectedError'
  override readonly name = VenueConfigRejectedError.NAME
  constructor(
    readonly reason: VenueConfigReason,
    detail = '',
  ) {
    super(detail ? `${reason}: ${detail}` : reason)
  }
}

/** What verification needs from the ledger: `LedgerIndex` provides it. */
export interface VenueConfigTrust {
  deviceAuthority(device: Uint8Array): DeviceAuthority | undefined
}

function encodeUnsigned(b: VenueConfigBody, signer: Uint8Array): Uint8Array {
  const section = VENUE_CONFIG_SECTIONS.indexOf(b.section)
  if (section < 0) throw new RangeError(`unknown venue config section: ${String(b.section)}`)
  if (b.payload.length > VENUE_CONFIG_MAX_PAYLOAD)
    throw new RangeError(`payload ${b.payload.length} > ${VENUE_CONFIG_MAX_PAYLOAD} bytes`)
  return new Writer()
    .raw(MAGIC)
    .fixed(b.venue, 32)
    .u8(section)
    .uint(b.version)
    .uint(b.time)
    .fixed(signer, 32)
    .bytes(b.payload)
    .finish()
}

function signatureMessage(hash: Uint8Array): Uint8Array {
  const m = new Uint8Array(SIG_DOMAIN.length + hash.length)
  m.set(SIG_DOMAIN)
  m.set(hash, SIG_DOMAIN.length)
  return m
}

/** Sign a config entry with a device key (an admin device of the venue, or nobody will trust it). */
export async function signVenueConfig(body: VenueConfigBody, device: Signer): Promise<VenueConfigEntry> {
  const unsigned = encodeUnsigned(body, device.publicKey)
  const hash = sha256(unsigned)
  const signature = await device.sign(signatureMessage(hash))
  const bytes = new Uint8Array(unsigned.length + 64)
  bytes.set(unsigned)
  bytes.set(signature, unsigned.length)
  return { ...body, payload: body.payload.slice(), signer: device.publicKey, signature, hash, bytes }
}

/** Decode (no trust check). Throws LedgerDecodeError on anything but one canonical entry. */
export function decodeVenueConfig(bytes: Uint8Array): VenueConfigEntry {
  if (bytes.length < MAGIC.length + 64 || !bytesEqual(bytes.subarray(0, MAGIC.length), MAGIC))
    throw new LedgerDecodeError('unknown-kind', 'not a venue config entry')
  const unsignedLength = bytes.length - 64
  const r = new Reader(bytes.subarray(0, unsignedLength))
  r.fixed(MAGIC.length)
  const venue = r.fixed(32).slice()
  const sectionCode = r.u8()
  const section = VENUE_CONFIG_SECTIONS[sectionCode]
  if (section === undefined) throw new LedgerDecodeError('unknown-section', `section ${sectionCode}`)
  const version = r.uint()
  const time = r.uint()
  const signer = r.fixed(32).slice()
  const payload = r.bytes(VENUE_CONFIG_MAX_PAYLOAD).slice()
  r.end()
  const unsigned = bytes.subarray(0, unsignedLength)
  return {
    venue,
    section,
    version,
    time,
    payload,
    signer,
    signature: bytes.slice(unsignedLength),
    hash: sha256(unsigned),
    bytes: bytes.slice(),
  }
}

/**
 * Decode and judge an entry: the signature verifies and the signer is an admin device certified by the
 * entry's venue, valid at the entry's time and not revoked (an entry has no deviceSeq to compare with a
 * revocation cutoff, so a revoked device's entries are all refused: the admin re-signs what should stay).
 */
export async function verifyVenueConfig(
  bytes: Uint8Array,
  trust: VenueConfigTrust,
): Promise<VenueConfigEntry> {
  const e = decodeVenueConfig(bytes)
  if (!(await verifySignature(e.signer, signatureMessage(e.hash), e.signature)))
    throw new VenueConfigRejectedError('signature', `entry ${toHex(e.hash).slice(0, 16)}`)
  const device = trust.deviceAuthority(e.signer)
  if (!device) throw new VenueConfigRejectedError('not-certified', `device ${toHex(e.signer).slice(0, 16)}`)
  if (device.venueKey !== keyOf(e.venue))
    throw new VenueConfigRejectedError('other-venue', `device of venue ${toHex(device.venue).slice(0, 16)}`)
  if (!device.roles.has('admin'))
    throw new VenueConfigRejectedError('not-admin', `roles ${[...device.roles].join(',')}`)
  if (device.cutoff !== Number.POSITIVE_INFINITY) throw new VenueConfigRejectedError('revoked')
  if (!device.windows.some((w) => e.time >= w.notBefore && (w.notAfter === 0 || e.time <= w.notAfter)))
    throw new VenueConfigRejectedError('validity', `time ${e.time} outside the certificate validity`)
  return e
}

/** Does `a` beat `b` for the same (venue, section)? Higher version, then lower hash. */
export function venueConfigWins(a: VenueConfigEntry, b: VenueConfigEntry): boolean {
  if (a.version !== b.version) return a.version > b.version
  return keyOf(a.hash) < keyOf(b.hash)
}

export interface ResolvedVenueConfig {
  /** The winning entry per section (absent: no valid entry yet). */
  sections: Partial<Record<VenueConfigSection, VenueConfigEntry>>
  /** Entries that failed decoding or trust, with why (kept, never trusted). */
  rejected: Array<{ bytes: Uint8Array; error: Error }>
  /** Well-formed entries that were valid but lost to a newer one (or belong to another venue). */
  superseded: number
}

/** Resolve one venue's config from the doc's entries (any order, duplicates allowed). */
export async function resolveVenueConfig(
  entries: Iterable<Uint8Array>,
  venue: Uint8Array,
  trust: VenueConfigTrust,
): Promise<ResolvedVenueConfig> {
  const out: ResolvedVenueConfig = { sections: {}, rejected: [], superseded: 0 }
  const seen = new Set<string>()
  const venueKey = keyOf(venue)
  for (const bytes of entries) {
    let e: VenueConfigEntry
    try {
      e = await verifyVenueConfig(bytes, trust)
    } catch (error) {
      if (error instanceof LedgerDecodeError || error instanceof VenueConfigRejectedError)
        out.rejected.push({ bytes, error })
      else throw error
      continue
    }
    const k = keyOf(e.hash)
    if (seen.has(k)) continue
    seen.add(k)
    if (keyOf(e.venue) !== venueKey) {
      out.superseded++
      continue
    }
    const current = out.sections[e.section]
    if (!current || venueConfigWins(e, current)) {
      if (current) out.superseded++
      out.sections[e.section] = e
    } else out.superseded++
  }
  return out
}

/** The next version an admin should sign for a section (one above the current winner). */
export function nextVenueConfigVersion(resolved: ResolvedVenueConfig, section: VenueConfigSection): number {
  return (resolved.sections[section]?.version ?? 0) + 1
}
