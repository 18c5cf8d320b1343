// The venue's catalog, categories, plans and agenda, kept as one JSON file in the node's data folder and
// written atomically (temp file + fsync + rename). Prices here are list prices: what a card paid is in
// the signed sale record, so editing the catalog never changes past sales.
import { mkdir, open, readFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { type Catalog, demoCatalog } from './demo-catalog.ts'

export interface StoredCatalog extends Catalog {
  /** Display names and symbols for assets (their definitions are signed statements). */
  assetNames: Record<string, { name: string; symbol: string }>
}

/**
 * What the service reads and edits: the venue's catalog, plans, agenda and printer routes. Adapters: the
 * synced one (signed venue config entries in the venue doc, `synced-catalog.ts`) and this JSON file
 * (one device with no venue doc: `--local`).
 */
export interface VenueCatalog {
  load(): Promise<void>
  get(): StoredCatalog
  assetName(asset: string): string | undefined
  assetSymbol(asset: string): string | undefined
  /** Applies an edit; resolves once it is durable. */
  update(change: (c: StoredCatalog) => StoredCatalog): Promise<void>
  /** Changes that did not come through update() (another device's edit arriving by sync). */
  onChange?(listener: () => void): () => void
}

export class CatalogStore implements VenueCatalog {
  private value: StoredCatalog
  private writing: Promise<void> = Promise.resolve()

  constructor(
    private readonly dataDir: string,
    seed: () => StoredCatalog = defaultCatalog,
  ) {
    this.value = seed()
  }

  private get path(): string {
    return join(this.dataDir, 'catalog.json')
  }

  /** Loads the stored catalog; keeps the seed (and writes it) when there is none yet. */
  async load(): Promise<void> {
    await mkdir(this.dataDir, { recursive: true })
    const text = await readFile(this.path, 'utf8').catch(() => undefined)
    if (text === undefined) return this.update((c) => c)
    this.value = JSON.parse(text) as StoredCatalog
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

  update(change: (c: StoredCatalog) => StoredCatalog): Promise<void> {
    const next = change(this.value)
    this.value = next
    this.writing = this.writing.then(async () => {
      const tmp = `${this.path}.tmp`
      const f = await open(tmp, 'w')
      await f.writeFile(JSON.stringify(next, null, 1))
      await f.sync()
      await f.close()
      await rename(tmp, this.path)
    })
    return this.writing
  }
}

export function defaultCatalog(): StoredCatalog {
  return {
    ...demoCatalog(),
    assetNames: {
      EUR: { name: 'Euros', symbol: '€' },
      GONETTE: { name: 'Gonettes', symbol: 'G' },
      'cafe.gift': { name: 'Points cadeaux', symbol: 'pts' },
      'cafe.time': { name: 'Monnaie temps', symbol: 'min' },
      'cafe.loyalty': { name: 'Fidélité', symbol: 'fid' },
    },
  }
}
