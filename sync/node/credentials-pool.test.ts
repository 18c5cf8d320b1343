// The certificate check of a hello does not wait for libuv's thread pool (a loaded till's bulk verifies and
// file writes queue there), and a forged certificate is still refused on that path.
import { execFileSync } from 'node:child_process'
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { HandshakeRejectedError } from '../net/mod.ts'
import { CertificateAuthenticator, encodeCredentialBundle } from './credentials.ts'
import { keyPairFromLabel, signStatement } from './ledger.ts'

let release = () => {}
afterEach(() => release())

/** Holds every libuv pool thread (each blocked opening a FIFO nobody writes) until released. */
function holdThreadPool(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'lakou-pool-'))
  const fifos = Array.from({ length: Number(process.env.UV_THREADPOOL_SIZE ?? 4) }, (_, i) =>
    join(dir, `f${i}`),
  )
  execFileSync('mkfifo', fifos)
  const reads = fifos.map((f) => open(f, 'r').then((h) => h.close()))
  return () => {
    for (const f of fifos) closeSync(openSync(f, constants.O_WRONLY))
    void Promise.all(reads).finally(() => rmSync(dir, { recursive: true, force: true }))
    release = () => {}
  }
}

async function bundle(label: string, forge = false) {
  const fed = await keyPairFromLabel(`${label}-fed`)
  const venue = await keyPairFromLabel(`${label}-venue`)
  const device = await keyPairFromLabel(`${label}-device`)
  const admission = await signStatement(
    { kind: 'venue-admission', issuer: fed.publicKey, time: 1, venue: venue.publicKey, name: 'v' },
    fed,
  )
  const cert = await signStatement(
    {
      kind: 'device-certificate',
      issuer: venue.publicKey,
      time: 1,
      device: device.publicKey,
      roles: ['cashier'],
      notBefore: 0,
      notAfter: 0,
      label: 'till',
    },
    venue,
  )
  if (forge) cert[cert.length - 1]! ^= 1 // the last byte of the signature
  return { fed, device, certificate: encodeCredentialBundle(cert, admission) }
}

describe('CertificateAuthenticator beside a busy thread pool', () => {
  it('accepts a valid bundle and refuses a forged one while every pool thread is held', async () => {
    const good = await bundle('pool-good')
    const forged = await bundle('pool-forged', true)
    release = holdThreadPool()
    const judge = (b: typeof good) =>
      new CertificateAuthenticator({ federationKey: b.fed.publicKey }).authenticate({
        certificate: b.certificate,
        devicePublicKey: b.device.publicKey,
        remotePeerId: 'peer',
      })
    expect((await judge(good)).kind).toBe('device')
    // twice: the second answer comes from the verdicts kept, and a forged one is never kept
    expect((await judge(good)).role).toBe('cashier')
    for (let i = 0; i < 2; i++) {
      const refusal = await judge(forged).catch((e: unknown) => e)
      expect(refusal).toBeInstanceOf(HandshakeRejectedError)
      expect((refusal as Error).message).toBe('device-certificate signature is invalid')
    }
  }, 30_000)
})
