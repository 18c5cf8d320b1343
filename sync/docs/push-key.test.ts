// Pushed records are known by their last signature (recordKey): a held record's copies are dropped before
// any validation, a forged copy that arrives first is validated (and refused) and never hides the genuine.
import { Repo } from '@automerge/automerge-repo'
import { describe, expect, it } from 'vitest'
import { IndexFeed, type IngestOutcome } from './index-feed.ts'
import { DocumentLayout } from './layout.ts'
import { RecordPush } from './push.ts'
import { recordKey } from './push-outbox.ts'
import { DocStatusBoard } from './status.ts'
import { HashSetSink, RecordingPushTransport, until } from './test-helpers.ts'

const SEED = Number(process.env.PUSH_KEY_SEED ?? 20261122)

function seeded(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0
    return state >>> 24
  }
}

/** A record-shaped test item: accepted by HashSetSink (first byte 1), `n` in its last 64 bytes. */
function signedLike(n: number, length = 200): Uint8Array {
  const b = new Uint8Array(length)
  b[0] = 1
  new DataView(b.buffer).setUint32(length - 10, n)
  return b
}

class CountingSink extends HashSetSink {
  calls = 0
  override ingest(bytes: Uint8Array): IngestOutcome {
    this.calls++
    return super.ingest(bytes)
  }
}

function setup() {
  const sink = new CountingSink()
  const feed = new IndexFeed(new DocumentLayout(new Repo()), sink)
  const transport = new RecordingPushTransport(['p1', 'p2'])
  const push = new RecordPush(feed, new DocStatusBoard({ coalesceMs: 1 }), transport, { summaryEveryMs: 0 })
  return { sink, feed, transport, push }
}

describe('recordKey', () => {
  it('is the last 64 bytes, one char per byte; shorter bytes are their own key', () => {
    const rand = seeded(SEED)
    const keys = new Map<string, string>()
    for (let n = 0; n < 2000; n++) {
      const b = new Uint8Array(64 + (rand() % 300)).map(() => rand())
      const tail = b.subarray(b.length - 64)
      const key = recordKey(b)
      expect(key, `seed ${SEED}, input ${n}`).toBe(String.fromCharCode(...tail))
      // the same tail behind other bytes: the same key; another tail: another key
      const other = new Uint8Array(b.length + 7)
      other.set(tail, other.length - 64)
      expect(recordKey(other), `seed ${SEED}, input ${n}`).toBe(key)
      const hex = Buffer.from(tail).toString('hex')
      const seen = keys.get(key)
      if (seen !== undefined) expect(seen, `seed ${SEED}, input ${n}`).toBe(hex)
      keys.set(key, hex)
    }
    const short = new Uint8Array([0x80, 0xff, 0, 7])
    expect(recordKey(short)).toBe('\u0080\u00ff\u0000\u0007')
    expect(recordKey(new Uint8Array(0))).toBe('')
  })
})

describe('record push keyed by the last signature', () => {
  it('a copy that differs only before its last 64 bytes is dropped as held once the record is', async () => {
    const { sink, feed, transport, push } = setup()
    const genuine = signedLike(1)
    const variant = genuine.slice()
    variant[0] = 9 // HashSetSink would refuse it: it must not even be asked
    transport.deliver('p1', { t: 'recs', recs: [[genuine]] })
    await feed.idle()
    await until(() => sink.applied === 1)
    transport.deliver('p2', { t: 'recs', recs: [[variant], [genuine]] })
    await feed.idle()
    expect(sink.calls).toBe(1)
    expect(push.stats.dropped).toBe(2)
    expect(sink.rejected).toBe(0)
  })

  it('a forged copy that comes first is validated and refused; the genuine record is still applied', async () => {
    const { sink, feed, transport, push } = setup()
    const genuine = signedLike(2)
    const forged = genuine.slice()
    forged[0] = 9
    // in one frame: the genuine copy waits for the forged one's verdict, then is validated itself
    transport.deliver('p1', { t: 'recs', recs: [[forged], [genuine]] })
    await feed.idle()
    await until(() => sink.applied === 1)
    expect(sink.rejected).toBe(1)
    expect(sink.calls).toBe(2)
    await until(() => push.stats.forwarded === 1)
    // and records with other tails are told apart
    transport.deliver('p2', { t: 'recs', recs: [[signedLike(3)], [signedLike(4)]] })
    await feed.idle()
    await until(() => sink.applied === 3)
  })
})
