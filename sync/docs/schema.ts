// The document layout (DESIGN.md "Documents"). Every Lakou document carries a `lakou` tag naming its kind
// and format version, plus the ids that say who owns it; that is all the share policy needs to classify it.
// Records and signed entries are stored as Uint8Array (never strings: FACTS.md, collaborative text is 20x
// slower to load). Ids are lowercase hex of public keys, kept as ImmutableString so they are not text either.
import { type AutomergeUrl, ImmutableString, isImmutableString } from '@automerge/automerge-repo/slim'

/** A device appends at most this many records to one ledger page, then opens the next page. */
export const PAGE_CAPACITY = 1000

export type Id = ImmutableString | string

/** Federation: admissions, assets, relays, revocations, policy (signed entries) and the venue directory. */
export interface FederationDoc {
  lakou: 'federation/v1'
  federationId: Id
  /** Signed entries (ledger-encoded), in arrival order. */
  entries: Uint8Array[]
  /** Directory: venue id (hex) -> venue doc url. */
  venues: Record<string, Id>
}

/** Venue: certificates, staff cards, catalog, plans, agenda (signed entries) and the page directory. */
export interface VenueDoc {
  lakou: 'venue/v1'
  federationId: Id
  venueId: Id
  entries: Uint8Array[]
  /** Directory: device id (hex) -> that device's ledger page urls, page 0 first. Only that device writes it. */
  pages: Record<string, Id[]>
  /** The venue's encrypted personal-data doc (members' names, emails): shared only within the venue. */
  personal: Id
  /**
   * Venue configuration entries (catalog, plans, agenda, printer routes), ledger `signVenueConfig` bytes,
   * in arrival order; trusted only when signed by an admin device of the venue. Absent in venue docs
   * created before it existed (the first append creates it).
   */
  config?: Uint8Array[]
}

/** One ledger page: a single writer (the device) appends its records, at most PAGE_CAPACITY. */
export interface LedgerPageDoc {
  lakou: 'ledger-page/v1'
  venueId: Id
  deviceId: Id
  page: number
  records: Uint8Array[]
}

/** Personal data of one venue, encrypted (tweetnacl secretbox/box): relays and other venues see ciphertext. */
export interface PersonalDoc {
  lakou: 'personal/v1'
  venueId: Id
  entries: Uint8Array[]
}

export type LakouDoc = FederationDoc | VenueDoc | LedgerPageDoc | PersonalDoc

/** What the share policy needs to know about a document. */
export type DocClass =
  | { kind: 'federation'; federationId: string }
  | { kind: 'venue'; federationId: string; venueId: string }
  | { kind: 'ledger-page'; venueId: string; deviceId: string; page: number }
  | { kind: 'personal'; venueId: string }

export const imm = (s: string): ImmutableString => new ImmutableString(s)
export const str = (v: Id | undefined): string =>
  v === undefined ? '' : typeof v === 'string' ? v : isImmutableString(v) ? v.val : String(v)
export const asUrl = (v: Id): AutomergeUrl => str(v) as AutomergeUrl

/** Classifies a loaded document by its tag, or undefined if it is not a Lakou document. */
export function classifyDoc(doc: unknown): DocClass | undefined {
  if (typeof doc !== 'object' || doc === null) return undefined
  const d = doc as Record<string, unknown>
  const s = (k: string) => {
    const v = d[k]
    return isImmutableString(v) || typeof v === 'string' ? str(v as Id) : undefined
  }
  switch (d.lakou) {
    case 'federation/v1': {
      const federationId = s('federationId')
      return federationId ? { kind: 'federation', federationId } : undefined
    }
    case 'venue/v1': {
      const federationId = s('federationId')
      const venueId = s('venueId')
      return federationId && venueId ? { kind: 'venue', federationId, venueId } : undefined
    }
    case 'ledger-page/v1': {
      const venueId = s('venueId')
      const deviceId = s('deviceId')
      const page = d.page
      return venueId && deviceId && typeof page === 'number' && Number.isInteger(page) && page >= 0
        ? { kind: 'ledger-page', venueId, deviceId, page }
        : undefined
    }
    case 'personal/v1': {
      const venueId = s('venueId')
      return venueId ? { kind: 'personal', venueId } : undefined
    }
    default:
      return undefined
  }
}
