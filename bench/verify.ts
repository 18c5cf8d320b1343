// `npm run bench -- verify [--records N] [--json out.json]`: ingest N valid records (default 200,000;
// about N/10 cards, 50 devices) into a fresh LedgerIndex and compare with the fastest raw Ed25519
// verification this runtime offers, measured on the same signatures in the same run.
// Records are generated in a child process (node:crypto signing) and written to a temp file, so the
// index process's peak RSS is the index's own.
import { spawnSync } from 'node:child_process'
import * as nodeCrypto from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { decodeSigned, encodeSigned, hashOfUnsigned } from '../ledger/codec.ts'
import {
  cardSignatureMessage,
  createFixture,
  deviceSignatureMessage,
  encodeRecordUnsigned,
  keyPairFromLabel,
  LedgerIndex,
  type LedgerRecord,
  seededRandom,
  signingCardId,
  signStatement,
  tagCardId,
  ZERO_HASH,
} from '../ledger/mod.ts'
import { signingCardPositions } from '../ledger/sign.ts'
import { type Bench, maxRssMb, numberArg } from './harness.ts'
import { forEachBatch, frame, unframe } from './verify-frames.ts'
import { measureSnapshot } from './verify-snapshot.ts'

const GENERATE_FLAG = '--generate-verify-records'
const DEVICES = 50
const PAGE = 1000
const SIGNING_CARD_SHARE = 0.02

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

// Deterministic PRNG (mulberry32, ledger seededRandom) so every run generates the same records.
const prng = seededRandom

async function generate(records: number, dir: string): Promise<void> {
  const fx = await createFixture('bench-verify', { venues: 5, signingCards: 0, tagCards: 0 })
  const statements = [...fx.statements]
  const devices: Array<{
    pub: Uint8Array
    priv: nodeCrypto.KeyObject
    seq: number
    head: Uint8Array
    page: Uint8Array[][]
  }> = []
  for (let d = 0; d < DEVICES; d++) {
    const venue = fx.venues[d % fx.venues.length]!
    const key = await keyPairFromLabel(`bench-verify/till/${d}`)
    statements.push(
      await signStatement(
        {
          kind: 'device-certificate',
          issuer: venue.key.publicKey,
          time: 0,
          device: key.publicKey,
          roles: ['cashier'],
          notBefore: 0,
          notAfter: 0,
          label: `till${d}`,
        },
        venue.key,
      ),
    )
    const priv = nodeCrypto.createPrivateKey({
      key: Buffer.concat([PKCS8_PREFIX, key.seed]),
      format: 'der',
      type: 'pkcs8',
    })
    devices.push({ pub: key.publicKey, priv, seq: 0, head: ZERO_HASH, page: [[]] })
  }
  const nCards = Math.max(10, Math.round(records / 10))
  const rand = prng(20261121)
  const cards: Array<{
    id: Uint8Array
    priv: nodeCrypto.KeyObject | null
    seq: number
    head: Uint8Array
    balance: number
  }> = []
  for (let c = 0; c < nCards; c++) {
    if (rand() < SIGNING_CARD_SHARE) {
      const seed = nodeCrypto.createHash('sha256').update(`bench-verify/card/${c}`).digest()
      const priv = nodeCrypto.createPrivateKey({
        key: Buffer.concat([PKCS8_PREFIX, seed]),
        format: 'der',
        type: 'pkcs8',
      })
      const pub = nodeCrypto.createPublicKey(priv).export({ format: 'der', type: 'spki' }).subarray(12)
      cards.push({ id: signingCardId(new Uint8Array(pub)), priv, seq: 0, head: ZERO_HASH, balance: 0 })
    } else {
      const uid = new Uint8Array(7)
      new DataView(uid.buffer).setUint32(3, c)
      uid[0] = 0x04
      cards.push({ id: tagCardId(uid), priv: null, seq: 0, head: ZERO_HASH, balance: 0 })
    }
  }
  const sign = (key: nodeCrypto.KeyObject, msg: Uint8Array) => new Uint8Array(nodeCrypto.sign(null, msg, key))
  let time = Date.UTC(2026, 5, 1)
  for (let i = 0; i < records; i++) {
    const card = cards[Math.floor(rand() * cards.length)]!
    const dev = devices[Math.floor(rand() * devices.length)]!
    const chain = { card: card.id, cardSeq: card.seq + 1, cardPrev: card.head }
    const header = {
      device: dev.pub,
      deviceSeq: dev.seq + 1,
      devicePrev: dev.head,
      time: time++,
      staff: new Uint8Array(0),
    }
    let rec: LedgerRecord
    let delta: number
    if (card.balance < 600) {
      const amount = 2000 + Math.floor(rand() * 30) * 100
      rec = {
        kind: 'top-up',
        ...header,
        chain,
        asset: 'EUR',
        amount,
        method: rand() < 0.5 ? 'cash' : 'bankcard',
      }
      delta = amount
    } else {
      const unitPrice = 150 + Math.floor(rand() * 11) * 25
      const quantity = 2 * unitPrice <= card.balance && rand() < 0.5 ? 2 : 1
      const amount = quantity * unitPrice
      rec = {
        kind: 'sale',
        ...header,
        chain,
        lines: [{ product: 'drink', quantity, unitPrice, asset: 'EUR', vatRate: 2000 }],
        payments: [{ method: 'card', asset: 'EUR', amount }],
      }
      delta = -amount
    }
    const unsigned = encodeRecordUnsigned(rec)
    const hash = hashOfUnsigned(unsigned)
    const sigs = [sign(dev.priv, deviceSignatureMessage(hash))]
    if (card.priv) sigs.push(sign(card.priv, cardSignatureMessage(chain.cardSeq, hash)))
    const page = dev.page[dev.page.length - 1]!
    page.push(encodeSigned(unsigned, sigs))
    if (page.length === PAGE) dev.page.push([])
    dev.seq++
    dev.head = hash
    card.seq++
    card.head = hash
    card.balance += delta
  }
  // Sync order: ledger pages round-robin over devices (card chains cross devices: some records wait).
  const ordered: Uint8Array[] = []
  for (let p = 0; ; p++) {
    let any = false
    for (const d of devices)
      if (d.page[p]) {
        ordered.push(...d.page[p]!)
        any = any || d.page[p]!.length > 0
      }
    if (!any) break
  }
  writeFileSync(join(dir, 'statements.bin'), frame(statements))
  writeFileSync(join(dir, 'records.bin'), frame(ordered))
  const native = await nativeVerifyRates(sampleSignatures(ordered, 30_000).samples)
  writeFileSync(join(dir, 'native.json'), JSON.stringify(native))
}

/** Fastest raw Ed25519 verification of the given (key, message, signature) triples, per second. */
async function nativeVerifyRates(
  samples: Array<{ key: Uint8Array; message: Uint8Array; signature: Uint8Array }>,
  inFlight: number[] = [512, 64],
): Promise<{ nodeSync: number; webCrypto: number; nodeAsync: number }> {
  const keyObjects = new Map<string, nodeCrypto.KeyObject>()
  const keyObj = (k: Uint8Array) => {
    const id = Buffer.from(k).toString('hex')
    let o = keyObjects.get(id)
    if (!o) {
      o = nodeCrypto.createPublicKey({ key: Buffer.concat([SPKI_PREFIX, k]), format: 'der', type: 'spki' })
      keyObjects.set(id, o)
    }
    return o
  }
  for (const s of samples) keyObj(s.key)
  let t = performance.now()
  let ok = 0
  for (const s of samples) if (nodeCrypto.verify(null, s.message, keyObj(s.key), s.signature)) ok++
  const nodeSync = samples.length / ((performance.now() - t) / 1000)
  if (ok !== samples.length) throw new Error('native verify failed on a valid signature')
  const subtle = globalThis.crypto.subtle
  const cryptoKeys = new Map<string, CryptoKey>()
  for (const s of samples) {
    const id = Buffer.from(s.key).toString('hex')
    if (!cryptoKeys.has(id))
      cryptoKeys.set(
        id,
        await subtle.importKey('raw', s.key as Uint8Array<ArrayBuffer>, 'Ed25519', false, ['verify']),
      )
  }
  let next = 0
  const worker = async () => {
    while (next < samples.length) {
      const s = samples[next++]!
      await subtle.verify(
        'Ed25519',
        cryptoKeys.get(Buffer.from(s.key).toString('hex'))!,
        s.signature as Uint8Array<ArrayBuffer>,
        s.message as Uint8Array<ArrayBuffer>,
      )
    }
  }
  let webCrypto = 0
  for (const n of inFlight) {
    t = performance.now()
    next = 0
    await Promise.all(Array.from({ length: n }, worker))
    webCrypto = Math.max(webCrypto, samples.length / ((performance.now() - t) / 1000))
  }
  // node:crypto's callback verify on libuv's pool, as many in flight (what the index uses in Node)
  let nodeAsync = 0
  for (const n of inFlight) {
    t = performance.now()
    await new Promise<void>((resolve, reject) => {
      let at = 0
      let pending = 0
      const start = (): void => {
        while (pending < n && at < samples.length) {
          const s = samples[at++]!
          pending++
          nodeCrypto.verify(null, s.message, keyObj(s.key), s.signature, (err, valid) => {
            pending--
            if (err || !valid) reject(err ?? new Error('native verify failed on a valid signature'))
            else start()
          })
        }
        if (pending === 0 && at >= samples.length) resolve()
      }
      start()
    })
    nodeAsync = Math.max(nodeAsync, samples.length / ((performance.now() - t) / 1000))
  }
  return { nodeSync, webCrypto, nodeAsync }
}

interface Sample {
  key: Uint8Array
  message: Uint8Array
  signature: Uint8Array
}

/** Every signature of an evenly spread sample of records, with its key and signed message. */
function sampleSignatures(
  recordBytes: Uint8Array[],
  size: number,
): { samples: Sample[]; signatures: number } {
  const samples: Sample[] = []
  let signatures = 0
  const step = Math.max(1, Math.ceil(recordBytes.length / size))
  for (let i = 0; i < recordBytes.length; i++) {
    const d = decodeSigned(recordBytes[i]!)
    if (d.type !== 'record') continue
    signatures += d.signatures.length
    if (i % step !== 0) continue
    samples.push({
      key: d.record.device,
      message: deviceSignatureMessage(d.hash),
      signature: d.signatures[0]!,
    })
    signingCardPositions(d.record).forEach((p, j) => {
      samples.push({
        key: p.card.subarray(1),
        message: cardSignatureMessage(p.cardSeq, d.hash),
        signature: d.signatures[j + 1]!,
      })
    })
  }
  return { samples, signatures }
}

export const run: Bench = async ({ args }) => {
  const records = numberArg(args, '--records', 200_000)
  const dir = mkdtempSync(join(tmpdir(), 'lakou-bench-verify-'))
  try {
    const gen = spawnSync(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), GENERATE_FLAG, String(records), dir],
      { stdio: 'inherit' },
    )
    if (gen.status !== 0) throw new Error(`record generation failed (${gen.status})`)
    const statements = unframe(new Uint8Array(readFileSync(join(dir, 'statements.bin'))))
    // raw verification speed before the ingest, measured by the generator process on the same signatures
    const nativeBefore = JSON.parse(readFileSync(join(dir, 'native.json'), 'utf8')) as {
      nodeSync: number
      webCrypto: number
      nodeAsync: number
    }
    const fx = await createFixture('bench-verify', { venues: 5, signingCards: 0, tagCards: 0 })
    const rssBefore = await maxRssMb()

    const index = new LedgerIndex({ federation: fx.federation.publicKey })
    // The machine is shared and its load swings: raw verification is measured interleaved with the
    // ingest, on the signatures of each batch, so both see the same load. Native time is not counted
    // as ingest time.
    const interleaved = { syncN: 0, syncS: 0, webN: 0, webS: 0, asyncN: 0, asyncS: 0 }
    let seconds = 0
    let t0 = performance.now()
    await index.ingestMany(statements)
    seconds += (performance.now() - t0) / 1000
    let ingested = 0
    let batches = 0
    // one batch = one ledger page (DESIGN.md: ~1,000 records per page doc), as sync delivers them
    await forEachBatch(join(dir, 'records.bin'), PAGE, async (batch) => {
      ingested += batch.length
      t0 = performance.now()
      await index.ingestMany(batch)
      seconds += (performance.now() - t0) / 1000
      if (batches++ % 5 !== 0) return
      const { samples } = sampleSignatures(batch, 600)
      const r = await nativeVerifyRates(samples, [64])
      interleaved.syncN += samples.length
      interleaved.syncS += samples.length / r.nodeSync
      interleaved.webN += samples.length
      interleaved.webS += samples.length / r.webCrypto
      interleaved.asyncN += samples.length
      interleaved.asyncS += samples.length / r.nodeAsync
    })
    const rssAfterIngest = await maxRssMb()
    const counts = index.counts()
    if (counts.valid !== ingested)
      throw new Error(`expected ${ingested} valid records, got ${JSON.stringify(counts)}`)
    const invariants = index.checkInvariants()
    if (!invariants.ok) throw new Error(`invariants: ${invariants.problems.slice(0, 3).join('; ')}`)
    const snapshot = measureSnapshot(index, dir, fx.federation.publicKey, counts.valid)
    const recordBytes = unframe(new Uint8Array(readFileSync(join(dir, 'records.bin'))))

    // The same signatures, verified raw, again after the ingest (the machine is shared: take the fastest)
    const after = sampleSignatures(recordBytes, 30_000)
    const nativeAfter = await nativeVerifyRates(after.samples)
    const signatures = after.signatures
    const native = {
      nodeSync: interleaved.syncN / interleaved.syncS,
      webCrypto: interleaved.webN / interleaved.webS,
      nodeAsync: interleaved.asyncN / interleaved.asyncS,
    }
    const nativeVerifyPerSec = Math.round(Math.max(native.nodeSync, native.webCrypto, native.nodeAsync))
    const recordsPerSec = Math.round(recordBytes.length / seconds)
    const ratio = recordsPerSec / nativeVerifyPerSec
    const rss = rssAfterIngest
    return {
      json: {
        records: recordBytes.length,
        seconds: Number(seconds.toFixed(3)),
        recordsPerSec,
        nativeVerifyPerSec,
        ratio: Number(ratio.toFixed(3)),
        maxRssMb: rss,
        signaturesPerRecord: Number((signatures / recordBytes.length).toFixed(3)),
        nodeSyncVerifyPerSec: Math.round(native.nodeSync),
        webCryptoVerifyPerSec: Math.round(native.webCrypto),
        nodeAsyncVerifyPerSec: Math.round(native.nodeAsync),
        // standalone runs (not interleaved, so not the baseline): before the ingest and after it
        standaloneVerifyPerSec: {
          before: Math.round(Math.max(nativeBefore.nodeSync, nativeBefore.webCrypto, nativeBefore.nodeAsync)),
          after: Math.round(Math.max(nativeAfter.nodeSync, nativeAfter.webCrypto, nativeAfter.nodeAsync)),
        },
        rssBeforeIndexMb: rssBefore,
        ...snapshot.json,
      },
      rows: [
        {
          metric: 'ingest (verify + validate + index)',
          value: recordsPerSec,
          unit: 'records/s',
          baseline: { name: 'raw Ed25519 verify/s, interleaved', value: nativeVerifyPerSec },
          target: 'ratio >= 0.8',
          ok: ratio >= 0.8,
        },
        {
          metric: 'raw verify, node:crypto sync',
          value: Math.round(native.nodeSync),
          unit: 'verify/s',
          baseline: { name: 'WebCrypto, 64 in flight', value: Math.round(native.webCrypto) },
        },
        {
          metric: 'peak RSS after ingest',
          value: rss,
          unit: 'MB',
          baseline: { name: 'RSS before the index', value: rssBefore },
          target: '<= 300',
          ok: rss <= 300,
        },
        ...snapshot.rows(seconds, rss),
        { metric: 'records ingested', value: recordBytes.length, unit: 'records' },
      ],
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[2] === GENERATE_FLAG) {
  await generate(Number(process.argv[3]), process.argv[4]!)
}
