// Test-only edges: an in-process record sink (a hash set) and a pair of repos joined by a MessageChannel.
import { createHash } from 'node:crypto'
import { Repo, type StorageAdapterInterface } from '@automerge/automerge-repo'
import { MessageChannelNetworkAdapter } from '@automerge/automerge-repo-network-messagechannel'
import type { IngestOutcome, RecordSink } from './index-feed.ts'

/** Accepts any record starting with 0x01, rejects others; dedupes by SHA-256. */
export class HashSetSink implements RecordSink {
  readonly seen = new Set<string>()
  applied = 0
  rejected = 0
  ingest(bytes: Uint8Array): IngestOutcome {
    if (bytes[0] !== 1) {
      this.rejected++
      return 'rejected'
    }
    const h = createHash('sha256').update(bytes).digest('hex')
    if (this.seen.has(h)) return 'duplicate'
    this.seen.add(h)
    this.applied++
    return 'applied'
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify([...this.seen]))
  }
  static restore(bytes: Uint8Array): HashSetSink {
    const s = new HashSetSink()
    for (const h of JSON.parse(new TextDecoder().decode(bytes)) as string[]) s.seen.add(h)
    s.applied = s.seen.size
    return s
  }
}

export function record(n: number): Uint8Array {
  const b = new Uint8Array(40)
  b[0] = 1
  new DataView(b.buffer).setUint32(1, n)
  return b
}

export function repoPair(storage: { a?: StorageAdapterInterface; b?: StorageAdapterInterface } = {}) {
  const { port1, port2 } = new MessageChannel()
  const a = new Repo({ network: [new MessageChannelNetworkAdapter(port1)], storage: storage.a })
  const b = new Repo({ network: [new MessageChannelNetworkAdapter(port2)], storage: storage.b })
  return {
    a,
    b,
    async close() {
      await Promise.all([a.shutdown(), b.shutdown()])
      port1.close()
      port2.close()
    },
  }
}

export async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 10))
  }
}
