// Test-only edges: an in-process record sink (a hash set), a push transport that records what it is given,
// and a pair of repos joined by a MessageChannel.
import { createHash } from 'node:crypto'
import { cbor, Repo, type StorageAdapterInterface } from '@automerge/automerge-repo'
import { MessageChannelNetworkAdapter } from '@automerge/automerge-repo-network-messagechannel'
import type { IngestOutcome, RecordSink } from './index-feed.ts'
import type { PushTransport } from './push.ts'

/**
 * A push transport that records every frame. Given its peers, it has `peers()` (so RecordPush batches
 * forwarded records per peer) and fans broadcasts out to them; without, it has no `peers()` (forwarding
 * goes through `broadcast`).
 */
export class RecordingPushTransport implements PushTransport {
  /** Every frame, raw, broadcast or sent to one peer. */
  readonly sent: Uint8Array[] = []
  /** Broadcasts, decoded, with the peer they skip. */
  readonly broadcasts: Array<{ message: unknown; except: string | undefined }> = []
  /** Frames to one peer (broadcasts fanned out to the known peers included), decoded. */
  readonly sentTo: Array<{ peer: string; message: Record<string, unknown> }> = []
  readonly misbehaving: string[] = []
  readonly peers?: () => string[]
  #fn: ((peer: string, m: Uint8Array) => void) | undefined

  constructor(readonly connected?: string[]) {
    if (connected) this.peers = () => connected
  }
  broadcast(m: Uint8Array, except?: string): void {
    this.sent.push(m)
    this.broadcasts.push({ message: cbor.decode(m), except })
    for (const p of this.connected ?? []) if (p !== except) this.#record(p, m)
  }
  sendTo(peer: string, m: Uint8Array): void {
    this.sent.push(m)
    this.#record(peer, m)
  }
  onMessage(fn: (peer: string, m: Uint8Array) => void): () => void {
    this.#fn = fn
    return () => {
      this.#fn = undefined
    }
  }
  misbehaved(peer: string): void {
    this.misbehaving.push(peer)
  }
  /** Hands the node a frame from `peer` (bytes as they are, anything else CBOR-encoded first). */
  deliver(peer: string, m: unknown): void {
    this.#fn?.(peer, m instanceof Uint8Array ? m : new Uint8Array(cbor.encode(m)))
  }
  #record(peer: string, m: Uint8Array): void {
    this.sentTo.push({ peer, message: cbor.decode(m) as Record<string, unknown> })
  }
}

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
