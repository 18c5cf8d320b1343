// Verify workers: every signature gets the verdict node:crypto gives it, once and never synchronously, also
// when a worker dies or the pool is stopped mid-batch; a LedgerIndex verifying through them reaches the
// same verdicts and views as through libuv's pool. Fixed seed, printed on failure.
import { generateKeyPairSync, sign } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { decodeEnvelope, encodeSigned } from '../../ledger/codec.ts'
import { createFixture, seededRandom } from '../../ledger/fixtures.ts'
import { makeKit } from '../../ledger/test-kit.ts'
import { LedgerIndex, toHex, verificationCount } from './ledger.ts'
import { VerifyWorkers } from './verify-workers.ts'

const SEED = Number(process.env.LAKOU_VERIFY_WORKERS_SEED ?? 20261122)

interface Case {
  key: Uint8Array
  message: Uint8Array
  signature: Uint8Array
  valid: boolean
}

// genuine signatures from 3 keys, and forged ones: a flipped bit, another key, another message
function cases(n: number, rand: () => number): Case[] {
  const pairs = Array.from({ length: 3 }, () => generateKeyPairSync('ed25519'))
  const raw = pairs.map(
    (p) => new Uint8Array(p.publicKey.export({ format: 'der', type: 'spki' }).subarray(12)),
  )
  const out: Case[] = []
  for (let i = 0; i < n; i++) {
    const k = Math.floor(rand() * 3)
    const message = new Uint8Array(20 + Math.floor(rand() * 60)).map(() => Math.floor(rand() * 256))
    const signature = new Uint8Array(sign(null, message, pairs[k]!.privateKey))
    const how = Math.floor(rand() * 5)
    if (how === 1) signature[Math.floor(rand() * 64)]! ^= 1 << Math.floor(rand() * 8)
    if (how === 2) message[0]! ^= 1
    out.push({
      key: how === 3 ? raw[(k + 1) % 3]! : raw[k]!,
      message,
      signature,
      valid: how === 0 || how === 4,
    })
  }
  return out
}

async function verifyAll(workers: VerifyWorkers, list: Case[]) {
  const verdicts: Array<boolean[]> = list.map(() => [])
  let returned = false
  let synchronous = 0
  const settled = new Promise<void>((resolve) => {
    let left = list.length
    list.forEach((c, i) => {
      const started = workers.verify(
        c.key,
        c.message,
        c.signature,
        (tag: number, ok: boolean) => {
          if (!returned) synchronous++
          verdicts[tag]!.push(ok)
          if (--left === 0) resolve()
        },
        i,
      )
      expect(started).toBe(true)
    })
  })
  returned = true
  await settled
  return { verdicts, synchronous }
}

function expectVerdicts(list: Case[], verdicts: boolean[][], label: string) {
  for (const [i, c] of list.entries()) expect(verdicts[i], `${label}, case ${i}`).toEqual([c.valid])
}

const open: VerifyWorkers[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((w) => w.stop()))
})
function workersOf(options: ConstructorParameters<typeof VerifyWorkers>[0]) {
  const w = new VerifyWorkers(options)
  open.push(w)
  return w
}

describe('VerifyWorkers', () => {
  it('gives every signature its verdict once, later, in batches over the workers', async () => {
    const list = cases(150, seededRandom(SEED))
    const workers = workersOf({ workers: 2, batch: 16 })
    const before = verificationCount()
    const { verdicts, synchronous } = await verifyAll(workers, list)
    expect(synchronous).toBe(0)
    expectVerdicts(list, verdicts, `seed ${SEED}`)
    expect(list.some((c) => !c.valid) && list.some((c) => c.valid)).toBe(true)
    expect(verificationCount() - before).toBe(150)
    expect(workers.stats).toMatchObject({ signatures: 150, fallback: 0, started: 2 })
    expect(workers.stats.batches).toBeGreaterThanOrEqual(10)
    // refused before any verify: wrong lengths
    const c = list[0]!
    expect(workers.verify(c.key.subarray(1), c.message, c.signature, () => {}, 0)).toBe(false)
    expect(workers.verify(c.key, c.message, c.signature.subarray(1), () => {}, 0)).toBe(false)
  })

  it('redoes the batches of a worker that dies through the fallback verifier', async () => {
    const list = cases(40, seededRandom(SEED + 1))
    const dying = "require('node:worker_threads').parentPort.on('message', () => process.exit(3))"
    const workers = workersOf({ workers: 1, batch: 8, source: dying })
    const { verdicts, synchronous } = await verifyAll(workers, list)
    expect(synchronous).toBe(0)
    expectVerdicts(list, verdicts, `seed ${SEED + 1}`)
    expect(workers.stats.fallback).toBeGreaterThan(0)
  })

  it('ends idle workers and starts them again; after stop() the fallback answers', async () => {
    const list = cases(20, seededRandom(SEED + 2))
    const workers = workersOf({ workers: 2, batch: 4, idleMs: 30 })
    await verifyAll(workers, list)
    expect(workers.running).toBe(2)
    for (let i = 0; i < 100 && workers.running > 0; i++) await new Promise((r) => setTimeout(r, 20))
    expect(workers.running).toBe(0)
    const again = await verifyAll(workers, list)
    expectVerdicts(list, again.verdicts, `seed ${SEED + 2}`)
    expect(workers.stats.started).toBe(4)
    // stopped with a batch gathered but not sent: its verdicts still come (from the fallback)
    const late = verifyAll(workers, list)
    await workers.stop()
    const { verdicts } = await late
    expectVerdicts(list, verdicts, `seed ${SEED + 2}`)
    expect(workers.running).toBe(0)
  })

  it('a LedgerIndex verifying through them reaches the pool verdicts and views', async () => {
    const fx = await createFixture('verify-workers', { tagCards: 3 })
    const kit = await makeKit('verify-workers', fx)
    const rand = seededRandom(SEED + 3)
    const w = fx.writer(fx.venues[0]!.cashier)
    const batch: Uint8Array[] = []
    for (let n = 0; n < 120; n++) {
      const r = await kit.topUp(w, fx.tagCards[n % 3]!, 1 + Math.floor(rand() * 500))
      if (rand() < 0.15) {
        // a forged copy before the genuine record: rejected, and must not block it
        const env = decodeEnvelope(r.bytes)
        const signatures = env.signatures.map((s) => s.slice())
        signatures[0]![Math.floor(rand() * 64)]! ^= 1
        batch.push(encodeSigned(env.unsigned, signatures))
      }
      batch.push(r.bytes)
    }
    const pool = new LedgerIndex({ federation: fx.federation.publicKey })
    const viaWorkers = new LedgerIndex({ federation: fx.federation.publicKey })
    const workers = workersOf({ workers: 2, batch: 16 })
    viaWorkers.useVerifier(workers.verify, workers.inFlight)
    await pool.ingestMany(fx.statements)
    await viaWorkers.ingestMany(fx.statements)
    const a = await viaWorkers.ingestMany(batch)
    const b = await pool.ingestMany(batch)
    expect(a.map((r) => [r.status, r.hash])).toEqual(b.map((r) => [r.status, r.hash]))
    expect(a.filter((r) => r.status === 'rejected').length).toBeGreaterThan(5)
    expect(viaWorkers.counts()).toEqual(pool.counts())
    for (const card of fx.tagCards)
      expect(viaWorkers.balance(card, 'EUR'), toHex(card)).toBe(pool.balance(card, 'EUR'))
    // one verify per distinct record (a copy with the hash of one being verified is a duplicate here)
    expect(workers.stats.signatures).toBe(120)
  })
})
