// A RecordSink that checks what sync itself must know, independent of the ledger's views: the signatures
// verify, each record counts once (by content hash), and per device the chain has no fork (two records with
// the same deviceSeq and different hashes) and no gap. The ledger's LedgerIndex, when given, receives every
// new valid record after these checks and owns all other rules and views.
import type { IngestOutcome, RecordSink } from '../docs/mod.ts'
import { stamp } from '../docs/stage-trace.ts'
import { decodeSigned, sha256, toHex, verifySignatures } from './ledger.ts'

export interface DeviceChainState {
  /** deviceSeq -> record hash (hex). */
  seqs: Map<number, string>
  forks: number[]
}

/** The ledger's verdict on one item (the ledger's IngestResult has this shape). */
export interface LedgerVerdict {
  type?: string
  status: string
  error?: Error & { rule?: string }
}

/** What the ledger index must offer to be fed by sync (the ledger's LedgerIndex does). */
export interface LedgerIngest {
  ingest(bytes: Uint8Array): Promise<LedgerVerdict>
  ingestMany?(batch: Uint8Array[]): Promise<LedgerVerdict[]>
}

// The ledger verifies every signature it ingests; checking them here as well cost a second WebCrypto
// round trip through the thread pool per record (half of a push's latency on a loaded machine). So with a
// ledger, its verdict says whether the signatures hold: only a signature failure or undecodable bytes.
const SIGNATURE_RULES = new Set(['signature', 'card-signature'])
function signaturesFailed(v: LedgerVerdict): boolean {
  return v.type === 'malformed' || (v.status === 'rejected' && SIGNATURE_RULES.has(v.error?.rule ?? ''))
}

export class ChainSink implements RecordSink {
  readonly #hashes = new Set<string>()
  readonly devices = new Map<string, DeviceChainState>()
  readonly statements = new Set<string>()
  rejected = 0
  readonly #ledger: LedgerIngest | undefined
  /** Called for every new valid statement (certificates, admissions, revocations). */
  onStatement?: (bytes: Uint8Array) => void
  /** Called for every new valid record, once it is applied (latency measurements, app notifications). */
  onRecord?: (hashHex: string, bytes: Uint8Array) => void

  constructor(ledger?: LedgerIngest) {
    this.#ledger = ledger
  }

  get size(): number {
    return this.#hashes.size
  }

  has(hashHex: string): boolean {
    return this.#hashes.has(hashHex)
  }

  async ingest(bytes: Uint8Array): Promise<IngestOutcome> {
    stamp('dequeued')
    let d: ReturnType<typeof decodeSigned>
    try {
      d = decodeSigned(bytes)
    } catch {
      this.rejected++
      return 'rejected'
    }
    const hash = toHex(d.hash)
    if (this.#hashes.has(hash)) {
      // Statements are few and the ledger index may be rebuilding after a restart: it gets them again
      // (it deduplicates), so records waiting for a certificate are not left pending.
      if (d.type === 'statement') await this.#ledger?.ingest(bytes)
      return 'duplicate'
    }
    const ok = this.#ledger
      ? await this.#ledgerSaysValid(bytes, await this.#ledger.ingest(bytes))
      : await verifySignatures(bytes)
    stamp('ledger')
    if (this.#hashes.has(hash)) return 'duplicate' // the same record came in meanwhile (rebuild, page)
    if (!ok) {
      this.rejected++
      return 'rejected'
    }
    this.#apply(d, hash, bytes)
    if (d.type === 'record') this.onRecord?.(hash, bytes)
    return 'applied'
  }

  // A 'duplicate' from the ledger for a hash this sink has not applied means the ledger holds (or is still
  // verifying, during a rebuild) another copy of the same content: these bytes' own signatures are then
  // checked here, so a forged copy is never counted on the strength of the genuine one.
  async #ledgerSaysValid(bytes: Uint8Array, verdict: LedgerVerdict): Promise<boolean> {
    if (verdict.status === 'duplicate') return verifySignatures(bytes)
    return !signaturesFailed(verdict)
  }

  /** Same as ingest() for a batch (a page on catch-up): signatures verified concurrently, one ledger batch. */
  async ingestMany(batch: Uint8Array[]): Promise<IngestOutcome[]> {
    const outcomes: IngestOutcome[] = new Array(batch.length)
    const fresh: Array<{ i: number; d: ReturnType<typeof decodeSigned>; hash: string }> = []
    const inBatch = new Set<string>()
    const statementDups: Uint8Array[] = []
    batch.forEach((bytes, i) => {
      let d: ReturnType<typeof decodeSigned>
      try {
        d = decodeSigned(bytes)
      } catch {
        this.rejected++
        outcomes[i] = 'rejected'
        return
      }
      const hash = toHex(d.hash)
      if (this.#hashes.has(hash) || inBatch.has(hash)) {
        if (d.type === 'statement') statementDups.push(bytes)
        outcomes[i] = 'duplicate'
        return
      }
      inBatch.add(hash)
      fresh.push({ i, d, hash })
    })
    let ok: boolean[]
    const ledger = this.#ledger
    if (ledger) {
      const items = [...statementDups, ...fresh.map(({ i }) => batch[i]!)]
      const verdicts = ledger.ingestMany
        ? await ledger.ingestMany(items)
        : await Promise.all(items.map((b) => ledger.ingest(b)))
      ok = await Promise.all(
        fresh.map(({ i }, k) => this.#ledgerSaysValid(batch[i]!, verdicts[statementDups.length + k]!)),
      )
    } else ok = await Promise.all(fresh.map(({ i }) => verifySignatures(batch[i]!)))
    fresh.forEach(({ i, d, hash }, k) => {
      if (this.#hashes.has(hash)) {
        outcomes[i] = 'duplicate'
        return
      }
      if (!ok[k]) {
        this.rejected++
        outcomes[i] = 'rejected'
        return
      }
      this.#apply(d, hash, batch[i]!)
      outcomes[i] = 'applied'
    })
    for (const { i, d, hash } of fresh)
      if (outcomes[i] === 'applied' && d.type === 'record') this.onRecord?.(hash, batch[i]!)
    return outcomes
  }

  #apply(d: ReturnType<typeof decodeSigned>, hash: string, bytes: Uint8Array): void {
    this.#hashes.add(hash)
    if (d.type === 'record') {
      const device = toHex(d.record.device)
      let chain = this.devices.get(device)
      if (!chain) {
        chain = { seqs: new Map(), forks: [] }
        this.devices.set(device, chain)
      }
      const seen = chain.seqs.get(d.record.deviceSeq)
      if (seen !== undefined && seen !== hash) chain.forks.push(d.record.deviceSeq)
      else chain.seqs.set(d.record.deviceSeq, hash)
    } else {
      this.statements.add(hash)
      this.onStatement?.(bytes)
    }
  }

  /** Highest deviceSeq seen for a device, and whether its chain 1..max is complete. */
  chainOf(deviceHex: string): { max: number; complete: boolean; forks: number[] } {
    const c = this.devices.get(deviceHex)
    if (!c) return { max: 0, complete: true, forks: [] }
    const max = Math.max(0, ...c.seqs.keys())
    return { max, complete: c.seqs.size === max, forks: [...c.forks] }
  }

  /** SHA-256 over the sorted hashes of everything applied: equal digests mean identical indexes. */
  digest(): string {
    return toHex(sha256(new TextEncoder().encode([...this.#hashes].sort().join(''))))
  }

  snapshot(): Uint8Array {
    const devices: Record<string, [number, string][]> = {}
    for (const [d, c] of this.devices) devices[d] = [...c.seqs]
    const forks: Record<string, number[]> = {}
    for (const [d, c] of this.devices) if (c.forks.length) forks[d] = c.forks
    const json = JSON.stringify({
      v: 1,
      statements: [...this.statements],
      devices,
      forks,
      rejected: this.rejected,
    })
    return new TextEncoder().encode(json)
  }

  /** Restores a snapshot taken by snapshot() (the ledger index is rebuilt separately, see venue-node). */
  restore(bytes: Uint8Array): void {
    const s = JSON.parse(new TextDecoder().decode(bytes)) as {
      v: number
      statements: string[]
      devices: Record<string, [number, string][]>
      forks: Record<string, number[]>
      rejected: number
    }
    if (s.v !== 1) throw new Error(`unknown snapshot version ${s.v}`)
    for (const h of s.statements) {
      this.statements.add(h)
      this.#hashes.add(h)
    }
    for (const [d, seqs] of Object.entries(s.devices)) {
      const chain: DeviceChainState = { seqs: new Map(seqs), forks: s.forks[d] ?? [] }
      this.devices.set(d, chain)
      for (const [, h] of seqs) this.#hashes.add(h)
    }
    this.rejected = s.rejected
  }
}
