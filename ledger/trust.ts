// The trust context: a deterministic function of the set of valid statements (any arrival order gives
// the same result). Federation keys are the root; venues are admitted by the federation; devices,
// staff cards and venue assets are certified by admitted venues.
import { keyOf } from './bytes.ts'
import { sha256 } from './crypto.ts'
import type { AssetDefinition, CardKind, FederationPolicy, PublicKey, Role, Statement } from './types.ts'

export interface DeviceAuthority {
  device: PublicKey
  /** Venue key that certified the device (issuer of its lowest-hash certificate). */
  venue: PublicKey
  venueKey: string
  roles: Set<Role>
  windows: Array<{ notBefore: number; notAfter: number }>
  /** Records with deviceSeq above this are invalid (Infinity: not revoked). */
  cutoff: number
}

export interface TrustState {
  federation: Set<string>
  venues: Map<string, { venue: PublicKey; name: string }>
  devices: Map<string, DeviceAuthority>
  /** 8-byte device id prefix (tag card states) -> device key. */
  devicesByShortId: Map<string, string>
  /** venueKey + staff card key. */
  staff: Set<string>
  assets: Map<string, AssetDefinition>
  /** First 4 bytes of SHA-256(asset id) -> asset id (tag card states). */
  assetsByRef: Map<number, string>
  /** The newest policy (highest version). */
  policy: FederationPolicy | null
  /** Every valid policy, by version ascending. */
  policies: FederationPolicy[]
  /** statement hash key -> why it is not (yet) effective. */
  inactive: Map<string, string>
}

export interface StatementEntry {
  key: string
  statement: Statement
}

export function assetRef(asset: string): number {
  const h = sha256(new TextEncoder().encode(asset))
  return ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0
}

/**
 * Offline ceiling for a card kind. With a record time, the policy in force then: the highest version
 * whose time is not after the record (a till offline since before a policy change followed the old
 * one, and history is never re-judged by a later policy); the oldest policy before any applies.
 */
export function offlineCeiling(trust: TrustState, kind: CardKind, time?: number): number {
  if (trust.policies.length === 0) return Number.POSITIVE_INFINITY
  let p = trust.policy!
  if (time !== undefined) {
    p = trust.policies[0]!
    for (const q of trust.policies) if (q.time <= time) p = q
  }
  return p.offlineCeiling[kind]
}

/** Build the trust context from signature-checked statements. */
export function buildTrust(federationKeys: PublicKey[], statements: StatementEntry[]): TrustState {
  const sorted = [...statements].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  const t: TrustState = {
    federation: new Set(federationKeys.map(keyOf)),
    venues: new Map(),
    devices: new Map(),
    devicesByShortId: new Map(),
    staff: new Set(),
    assets: new Map(),
    assetsByRef: new Map(),
    policy: null,
    policies: [],
    inactive: new Map(),
  }
  const byFederation = (s: Statement) => t.federation.has(keyOf(s.issuer))
  for (const { key, statement: s } of sorted) {
    if (s.kind === 'venue-admission') {
      if (byFederation(s)) t.venues.set(keyOf(s.venue), { venue: s.venue, name: s.name })
      else t.inactive.set(key, 'issuer-not-authorised')
    } else if (s.kind === 'federation-policy') {
      if (!byFederation(s)) t.inactive.set(key, 'issuer-not-authorised')
      else {
        if (!t.policy || s.version > t.policy.version) t.policy = s
        if (!t.policies.some((p) => p.version === s.version)) t.policies.push(s)
      }
    }
  }
  t.policies.sort((a, b) => a.version - b.version)
  const byVenue = (s: Statement) => t.venues.has(keyOf(s.issuer))
  for (const { key, statement: s } of sorted) {
    switch (s.kind) {
      case 'device-certificate': {
        if (!byVenue(s)) {
          t.inactive.set(key, 'issuer-not-authorised')
          break
        }
        const dk = keyOf(s.device)
        let d = t.devices.get(dk)
        if (!d) {
          d = {
            device: s.device,
            venue: s.issuer,
            venueKey: keyOf(s.issuer),
            roles: new Set(),
            windows: [],
            cutoff: Number.POSITIVE_INFINITY,
          }
          t.devices.set(dk, d)
          t.devicesByShortId.set(dk.slice(0, 8), dk)
        }
        if (d.venueKey !== keyOf(s.issuer)) {
          t.inactive.set(key, 'issuer-not-authorised') // a device belongs to one venue
          break
        }
        for (const r of s.roles) d.roles.add(r)
        d.windows.push({ notBefore: s.notBefore, notAfter: s.notAfter })
        break
      }
      case 'staff-card':
        if (byVenue(s)) t.staff.add(keyOf(s.issuer) + keyOf(s.card))
        else t.inactive.set(key, 'issuer-not-authorised')
        break
      case 'member-card':
        if (!byVenue(s)) t.inactive.set(key, 'issuer-not-authorised')
        break
      case 'asset-definition': {
        if (!byVenue(s) && !byFederation(s)) {
          t.inactive.set(key, 'issuer-not-authorised')
          break
        }
        if (t.assets.has(s.asset)) {
          t.inactive.set(key, 'asset already defined by a lower-hash definition')
          break
        }
        const ref = assetRef(s.asset)
        if (t.assetsByRef.has(ref)) {
          t.inactive.set(key, 'asset short reference collides with another asset')
          break
        }
        t.assets.set(s.asset, s)
        t.assetsByRef.set(ref, s.asset)
        break
      }
      default:
        break
    }
  }
  for (const { key, statement: s } of sorted) {
    if (s.kind !== 'device-revocation') continue
    const d = t.devices.get(keyOf(s.device))
    if (!d || (!byFederation(s) && keyOf(s.issuer) !== d.venueKey)) {
      t.inactive.set(key, d ? 'issuer-not-authorised' : 'device-not-certified')
      continue
    }
    d.cutoff = Math.min(d.cutoff, s.cutoffSeq)
  }
  return t
}
