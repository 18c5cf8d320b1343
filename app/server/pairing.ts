// Pairing browsers with their node. The node shows a short-lived code (console at start, admin screen); a
// browser that presents it (POST /pair) gets a session token in an HttpOnly cookie, bound to a role (till,
// door, admin, portal). Every WebSocket request is checked against that role (METHOD_ROLES). Loopback
// browsers may be paired as admin without a code (the demo's `npm start` stays one step); a LAN tablet
// always needs a code. Only token hashes are kept on disk, so a copied pairings file pairs nobody.
import { createHash, randomBytes, randomInt } from 'node:crypto'
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import type { ClientView, EventName, Method, Role } from '../shared/protocol.ts'
import {
  InvalidPairingCodeError,
  InvalidRequestError,
  NotPairedError,
  PairingRateLimitedError,
  RoleNotAllowedError,
} from './errors.ts'

const TILL = ['till'] as const
const DOOR = ['door'] as const
const ANY: readonly Role[] = ['till', 'door', 'admin', 'portal']

/** Roles allowed to call each method besides admin, which may call everything. */
export const METHOD_ROLES: { [M in Method]: readonly Role[] } = {
  'state.get': ANY,
  'client.whoami': ANY,
  'session.open': TILL,
  'session.close': TILL,
  'card.get': ['till', 'door', 'portal'],
  'card.history': ['till', 'portal'],
  'sale.pay': TILL,
  'sale.payRemainder': TILL,
  'sale.voidLast': TILL,
  'card.topUp': TILL,
  'card.refund': TILL,
  // The member portal's lost card: freeze it and move its balance to a new card.
  'card.replace': ['till', 'portal'],
  'membership.sell': TILL,
  'ticket.sell': TILL,
  'door.check': DOOR,
  'admin.product.save': [],
  'admin.category.save': [],
  'admin.asset.save': [],
  'admin.plan.save': [],
  'admin.event.save': [],
  'admin.enroll.offer': [],
  'admin.federation.admit': [],
  'admin.closeOut': [],
  'admin.report': [],
  'admin.export': [],
  'admin.pair.offer': [],
  'sim.tap': ['till', 'door'],
  'sim.remove': ['till', 'door'],
  'net.setOnline': ['till', 'door'],
}

/** Events a role receives: the card on the reader is for the screens that use the reader, not the portal. */
export function receivesEvent(role: Role | null, event: EventName): boolean {
  if (role === null) return false
  if (event === 'card.presented' || event === 'card.removed') return role !== 'portal'
  return true
}

/** What the API layer knows of the browser behind one WebSocket. */
export interface Client {
  role: Role | null
  via: ClientView['via']
  name?: string
}

export const UNPAIRED: Client = { role: null, via: null }

/** Throws the typed error when the client may not call `method`. */
export function checkAccess(client: Client, method: Method): void {
  if (method === 'client.whoami') return
  if (client.role === null) throw new NotPairedError('this browser is not paired with the node')
  if (client.role === 'admin' || METHOD_ROLES[method].includes(client.role)) return
  throw new RoleNotAllowedError(`a ${client.role} browser may not call ${method}`, {
    role: client.role,
    method,
  })
}

// No 0/O, 1/I/L: read aloud or typed on a tablet without confusion. 8 chars of 31 ~ 40 bits.
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789'
const CODE_LENGTH = 8

/** Canonical form of a typed code: case and separators do not matter. */
export const normalizeCode = (code: string) => code.toUpperCase().replace(/[^A-Z0-9]/g, '')
/** Display form: ABCD-EFGH. */
export const formatCode = (code: string) => `${code.slice(0, 4)}-${code.slice(4)}`

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex')

interface Paired {
  role: Role
  name: string
  pairedAt: string
}

export interface PairingOptions {
  /** JSON file of paired browsers (token hash -> role); absent: pairings last until the node stops. */
  file?: string
  /** Code lifetime (default 10 minutes). */
  codeTtlMs?: number
  clock?: () => number
}

export class PairingService {
  private readonly codes = new Map<string, { role: Role; name: string; expiresAt: number }>()
  private readonly paired = new Map<string, Paired>()
  private failures: number[] = []
  private readonly now: () => number
  private readonly ttl: number

  constructor(private readonly options: PairingOptions = {}) {
    this.now = options.clock ?? Date.now
    this.ttl = options.codeTtlMs ?? 10 * 60_000
    const file = options.file
    if (file && existsSync(file)) {
      let saved: Record<string, Paired>
      try {
        saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Paired>
      } catch (e) {
        // Never overwrite it: the operator decides (moving it away unpairs every browser).
        throw new InvalidRequestError(`${file} is not a pairings file: ${(e as Error).message}`)
      }
      for (const [hash, p] of Object.entries(saved)) this.paired.set(hash, p)
    }
  }

  /** A new one-time code for `role`, valid for the code lifetime. */
  offer(role: Role, name: string = role): { code: string; expiresAt: number } {
    let code = ''
    for (let i = 0; i < CODE_LENGTH; i++) code += ALPHABET[randomInt(ALPHABET.length)]
    const expiresAt = this.now() + this.ttl
    this.codes.set(code, { role, name, expiresAt })
    return { code: formatCode(code), expiresAt }
  }

  /** Consumes a code and returns a new session token for its role. Wrong codes are rate limited. */
  redeem(typed: string): { token: string; role: Role; name: string } {
    const now = this.now()
    this.failures = this.failures.filter((t) => now - t < 60_000)
    if (this.failures.length >= 10) throw new PairingRateLimitedError('too many wrong codes; wait a minute')
    const code = normalizeCode(typed)
    const offer = this.codes.get(code)
    this.codes.delete(code)
    for (const [c, o] of this.codes) if (o.expiresAt < now) this.codes.delete(c)
    if (!offer || offer.expiresAt < now) {
      this.failures.push(now)
      throw new InvalidPairingCodeError('unknown, expired or already used pairing code')
    }
    const token = randomBytes(32).toString('base64url')
    this.paired.set(hashToken(token), {
      role: offer.role,
      name: offer.name,
      pairedAt: new Date(now).toISOString(),
    })
    this.save()
    return { token, role: offer.role, name: offer.name }
  }

  /** The client behind a session token (cookie), or unpaired. */
  clientFor(token: string | undefined): Client {
    const p = token ? this.paired.get(hashToken(token)) : undefined
    return p ? { role: p.role, via: 'code', name: p.name } : UNPAIRED
  }

  private save(): void {
    const file = this.options.file
    if (!file) return
    writeFileSync(`${file}.tmp`, JSON.stringify(Object.fromEntries(this.paired), null, 2), { mode: 0o600 })
    renameSync(`${file}.tmp`, file)
  }
}

export const SESSION_COOKIE = 'lakou_session'

/** The session token from a Cookie header. */
export function tokenFromCookie(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=')
    if (k === SESSION_COOKIE) return v.join('=') || undefined
  }
  return undefined
}

export const isLoopback = (address: string | undefined) =>
  address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1'
