// The venue's catalog, plans, agenda and printer routes as signed venue config entries, synced to every
// device of the venue (ledger `venue-config`, sync/node `appendConfig`). An admin's edit signs the next
// version of the sections it changes; every till reads the resolved config (highest valid version per
// section, signed by an admin device of the venue). The per-device JSON file is only the seed the first
// device writes once as the first entries.
import type { CategoryView, PlanView, ProductView } from '../shared/protocol.ts'
import { defaultCatalog, type StoredCatalog, type VenueCatalog } from './catalog-store.ts'
import type { Catalog } from './demo-catalog.ts'

export type ConfigSection = 'catalog' | 'plans' | 'agenda' | 'printer-routes'
const SECTIONS: ConfigSection[] = ['catalog', 'plans', 'agenda', 'printer-routes']

/** What the catalog needs from the venue node. */
export interface VenueConfigPort {
  /** The winning payload of each section that has a valid entry. */
  sections(): Partial<Record<ConfigSection, Uint8Array>>
  /** Signs and appends the next version of a section; resolves once on disk. */
  append(section: ConfigSection, payload: Uint8Array): Promise<void>
  onChange(listener: () => void): () => void
}

interface CatalogSection {
  categories: Array<{ id: string; name: string }>
  products: ProductView[]
  assetNames: StoredCatalog['assetNames']
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** One section's payload (the caller builds objects in a fixed key order, so equal content = equal bytes). */
function sectionValue(section: ConfigSection, c: StoredCatalog): unknown {
  switch (section) {
    case 'catalog':
      return {
        categories: c.categories.map((x) => ({ id: x.id, name: x.name })),
        products: c.products,
        assetNames: c.assetNames,
      } satisfies CatalogSection
    case 'plans':
      return { plans: c.plans }
    case 'agenda':
      return { events: c.events }
    case 'printer-routes':
      return {
        routes: Object.fromEntries(c.categories.flatMap((x) => (x.printer ? [[x.id, x.printer]] : []))),
      }
  }
}

function parse(bytes: Uint8Array | undefined): Record<string, unknown> | undefined {
  if (!bytes) return undefined
  try {
    const v = JSON.parse(decoder.decode(bytes)) as unknown
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

const list = <T>(v: unknown): T[] | undefined => (Array.isArray(v) ? (v as T[]) : undefined)

/** The catalog from resolved sections; a section with no (usable) entry falls back to `fallback`. */
export function catalogFromSections(
  sections: Partial<Record<ConfigSection, Uint8Array>>,
  fallback: StoredCatalog,
): StoredCatalog {
  const cat = parse(sections.catalog)
  const plans = list<PlanView>(parse(sections.plans)?.plans)
  const events = list<Catalog['events'][number]>(parse(sections.agenda)?.events)
  const routesValue = parse(sections['printer-routes'])?.routes
  const categories = list<CategoryView>(cat?.categories)
  const baseCategories = categories ?? fallback.categories.map((c) => ({ id: c.id, name: c.name }))
  const routes =
    typeof routesValue === 'object' && routesValue !== null
      ? (routesValue as Record<string, string>)
      : Object.fromEntries(fallback.categories.flatMap((c) => (c.printer ? [[c.id, c.printer]] : [])))
  return {
    categories: baseCategories.map((c) =>
      typeof routes[c.id] === 'string'
        ? { id: c.id, name: c.name, printer: routes[c.id]! }
        : { id: c.id, name: c.name },
    ),
    products: list<ProductView>(cat?.products) ?? fallback.products,
    assetNames:
      typeof cat?.assetNames === 'object' && cat.assetNames !== null
        ? (cat.assetNames as StoredCatalog['assetNames'])
        : fallback.assetNames,
    plans: plans ?? fallback.plans,
    events: events ?? fallback.events,
  }
}

export interface SyncedCatalogOptions {
  /** Written once as the first entries of the sections that have none (the venue's first device only). */
  seed?: () => StoredCatalog | Promise<StoredCatalog>
  /** Shown for sections with no entry yet (a new till before its first sync). Default: the demo catalog. */
  fallback?: () => StoredCatalog
}

export class SyncedCatalog implements VenueCatalog {
  private value: StoredCatalog
  private readonly fallback: StoredCatalog
  private readonly listeners = new Set<() => void>()
  private off: (() => void) | undefined
  private writing: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly port: VenueConfigPort,
    private readonly o: SyncedCatalogOptions = {},
  ) {
    this.fallback = (o.fallback ?? defaultCatalog)()
    this.value = this.fallback
  }

  async load(): Promise<void> {
    this.off ??= this.port.onChange(() => {
      this.value = catalogFromSections(this.port.sections(), this.fallback)
      for (const l of this.listeners) l()
    })
    const present = this.port.sections()
    if (this.o.seed && SECTIONS.some((s) => !present[s])) {
      const seed = await this.o.seed()
      for (const s of SECTIONS)
        if (!present[s]) await this.port.append(s, encoder.encode(JSON.stringify(sectionValue(s, seed))))
    }
    this.value = catalogFromSections(this.port.sections(), this.fallback)
  }

  get(): StoredCatalog {
    return this.value
  }

  assetName(asset: string): string | undefined {
    return this.value.assetNames[asset]?.name
  }

  assetSymbol(asset: string): string | undefined {
    return this.value.assetNames[asset]?.symbol
  }

  /** Signs the sections the change touches (admin devices only: others get the node's typed refusal). */
  update(change: (c: StoredCatalog) => StoredCatalog): Promise<void> {
    const run = this.writing.then(async () => {
      const before = this.value
      const next = change(before)
      for (const s of SECTIONS) {
        const payload = JSON.stringify(sectionValue(s, next))
        if (payload !== JSON.stringify(sectionValue(s, before)))
          await this.port.append(s, encoder.encode(payload))
      }
      this.value = catalogFromSections(this.port.sections(), this.fallback)
    })
    this.writing = run.catch(() => {})
    return run
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  stop(): void {
    this.off?.()
    this.off = undefined
  }
}
