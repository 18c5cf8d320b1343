// The venue's configuration (catalog, plans, agenda, printer routes) as signed entries in the venue doc's
// `config` list. Every device of the venue receives them through sync and trusts only entries signed by an
// admin device of that venue (ledger's verifyVenueConfig, against the trust the ledger index holds);
// the resolved view is re-derived when the list changes or when new statements reach the ledger (an
// admin's certificate may arrive after its entries).
import type { DocHandle } from '@automerge/automerge-repo'
import { EventEmitter } from 'eventemitter3'
import type { VenueDoc } from '../docs/mod.ts'
import {
  type KeyPair,
  nextVenueConfigVersion,
  type ResolvedVenueConfig,
  resolveVenueConfig,
  signVenueConfig,
  toHex,
  type VenueConfigEntry,
  type VenueConfigSection,
  type VenueConfigTrust,
  verifyVenueConfig,
} from './ledger.ts'

export interface VenueConfigFeedEvents {
  /** The winning entry of at least one section changed. */
  changed: (config: ResolvedVenueConfig) => void
}

export interface VenueConfigFeedOptions {
  venue: DocHandle<VenueDoc>
  venueKey: Uint8Array
  device: KeyPair
  trust: VenueConfigTrust
  /** Writes the venue doc to disk (acknowledged means on disk). */
  flush: () => Promise<void>
  log?: (line: string) => void
}

const winners = (r: ResolvedVenueConfig) =>
  Object.entries(r.sections)
    .map(([s, e]) => `${s}:${toHex(e.hash)}`)
    .sort()
    .join(',')

export class VenueConfigFeed extends EventEmitter<VenueConfigFeedEvents> {
  #current: ResolvedVenueConfig = { sections: {}, rejected: [], superseded: 0 }
  #resolving: Promise<ResolvedVenueConfig> | undefined
  #again = false
  #appending: Promise<unknown> = Promise.resolve()
  #stopped = false
  readonly #onChange = () => this.refresh()

  constructor(private readonly o: VenueConfigFeedOptions) {
    super()
  }

  async start(): Promise<void> {
    this.o.venue.on('change', this.#onChange)
    await this.refresh()
  }

  stop(): void {
    this.#stopped = true
    this.o.venue.off('change', this.#onChange)
  }

  /** The resolved config as last derived. */
  current(): ResolvedVenueConfig {
    return this.#current
  }

  /** Re-derives the config (coalesced: one resolution in flight, one more queued at most). */
  refresh(): Promise<ResolvedVenueConfig> {
    if (this.#resolving) {
      this.#again = true
      return this.#resolving
    }
    this.#resolving = (async () => {
      let r: ResolvedVenueConfig
      do {
        this.#again = false
        const before = winners(this.#current)
        r = await resolveVenueConfig([...(this.o.venue.doc().config ?? [])], this.o.venueKey, this.o.trust)
        this.#current = r
        if (!this.#stopped && winners(r) !== before) this.emit('changed', r)
      } while (this.#again)
      return r
    })().finally(() => {
      this.#resolving = undefined
    })
    this.#resolving.catch((e) => this.o.log?.(`lakou/node: venue config: ${(e as Error).message}`))
    return this.#resolving
  }

  /**
   * Signs `payload` as the next version of `section` with this device's key and appends it; resolves
   * once the venue doc is on disk. Refused (VenueConfigRejectedError, nothing written) unless this device
   * is an admin of the venue by the trust the ledger holds now.
   */
  append(section: VenueConfigSection, payload: Uint8Array): Promise<VenueConfigEntry> {
    const run = this.#appending.then(async () => {
      const resolved = await this.refresh()
      const entry = await signVenueConfig(
        {
          venue: this.o.venueKey,
          section,
          version: nextVenueConfigVersion(resolved, section),
          time: Date.now(),
          payload,
        },
        this.o.device,
      )
      await verifyVenueConfig(entry.bytes, this.o.trust)
      this.o.venue.change((d) => {
        // Venue docs made before config existed get the list on first use.
        if (!d.config) d.config = []
        d.config.push(entry.bytes)
      })
      await this.o.flush()
      await this.refresh()
      return entry
    })
    this.#appending = run.catch(() => {})
    return run
  }
}
