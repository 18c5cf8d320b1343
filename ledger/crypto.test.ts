import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import { describe, expect, it } from 'vitest'
import { keyOf } from './bytes.ts'
import {
  type CallbackVerifier,
  keyPairFromLabel,
  sha256,
  sha256Key,
  verificationCount,
  verificationPath,
  verifySignature,
  verifySignatureCallback,
  verifySignatureNow,
  verifyWithNodeCrypto,
  verifyWithWebCrypto,
  verifyWithWebCryptoCallback,
} from './crypto.ts'
import { seededRandom } from './fixtures.ts'
import { deviceSignatureMessage, deviceSignatureMessageOfKey } from './sign.ts'

// verifySignature takes node:crypto's callback path in Node and WebCrypto's (with cached key imports)
// in browsers: both paths' verdicts must equal a fresh WebCrypto import's on valid and damaged inputs
// (a key with one bit flipped must not hit the original's cache entry), and neither throws.
const subtle = globalThis.crypto.subtle

async function webCryptoVerdict(key: Uint8Array, message: Uint8Array, signature: Uint8Array) {
  try {
    const k = await subtle.importKey('raw', key as Uint8Array<ArrayBuffer>, 'Ed25519', false, ['verify'])
    return await subtle.verify(
      'Ed25519',
      k,
      signature as Uint8Array<ArrayBuffer>,
      message as Uint8Array<ArrayBuffer>,
    )
  } catch {
    return false
  }
}

type Verify = typeof verifyWithWebCrypto
// Node 20.20 has node:crypto: its path must exist there (the index takes the fastest verify).
const paths: Array<[string, Verify]> = [
  ['node:crypto', verifyWithNodeCrypto!],
  ['webcrypto', verifyWithWebCrypto],
  // the same checks on the calling thread (the ingest's path for a record or two at a time)
  ['node:crypto inline', async (key, message, signature) => verifySignatureNow!(key, message, signature)],
]

describe('verifySignature', () => {
  it('takes node:crypto in Node', () => {
    expect(verifyWithNodeCrypto).toBeTypeOf('function')
    expect(verifySignatureNow).toBeTypeOf('function')
    expect(verificationPath).toBe('node:crypto')
    expect(verifySignature).toBe(verifyWithNodeCrypto)
  })

  it.each(paths)(
    '%s: accepts a valid signature and refuses damaged ones like WebCrypto does',
    async (_, verify) => {
      const seed = 20261121
      let state = seed
      const rand = (n: number) => {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0
        return state % n
      }
      const keys = [await keyPairFromLabel('crypto-a'), await keyPairFromLabel('crypto-b')]
      let valid = 0
      for (let round = 0; round < 120; round++) {
        const signer = keys[round % 2]!
        const message = new Uint8Array(1 + rand(80)).map(() => rand(256))
        const signature = await signer.sign(message)
        const key = signer.publicKey.slice()
        const what = rand(4) // 0: untouched, 1: signature bit, 2: message bit, 3: key bit
        const target = [null, signature, message, key][what]
        if (target) {
          const at = rand(target.length)
          target[at] = target[at]! ^ (1 << rand(8))
        }
        const ours = await verify(key, message, signature)
        expect(ours, `seed ${seed} round ${round}`).toBe(await webCryptoVerdict(key, message, signature))
        if (what === 0) expect(ours, `seed ${seed} round ${round}`).toBe(true)
        if (ours) valid++
      }
      expect(valid).toBeGreaterThan(10)
    },
  )

  it.each(paths)(
    '%s: refuses, without throwing, keys that are not curve points and wrong lengths',
    async (_, verify) => {
      const signer = await keyPairFromLabel('crypto-c')
      const message = new Uint8Array([1, 2, 3])
      const signature = await signer.sign(message)
      const notAPoint = new Uint8Array(32).fill(0xff)
      expect(await verify(notAPoint, message, signature)).toBe(
        await webCryptoVerdict(notAPoint, message, signature),
      )
      expect(await verify(notAPoint, message, signature)).toBe(false)
      expect(await verify(signer.publicKey.subarray(1), message, signature)).toBe(false)
      expect(await verify(signer.publicKey, message, signature.subarray(1))).toBe(false)
      expect(await verify(signer.publicKey, message, signature)).toBe(true)
    },
  )

  it.each(paths)('%s: counts each signature handed to the verify once, valid or not', async (_, verify) => {
    const signer = await keyPairFromLabel('crypto-d')
    const message = new Uint8Array([4, 5, 6])
    const signature = await signer.sign(message)
    const forged = signature.slice()
    forged[0]! ^= 1
    const before = verificationCount()
    // first call imports the key (WebCrypto) or builds the key object (node:crypto); the second hits the cache
    expect(await verify(signer.publicKey, message, signature)).toBe(true)
    expect(await verify(signer.publicKey, message, signature)).toBe(true)
    expect(await verify(signer.publicKey, message, forged)).toBe(false)
    expect(verificationCount() - before).toBe(3)
    // wrong lengths are refused before any verify: not counted
    expect(await verify(signer.publicKey, message, signature.subarray(1))).toBe(false)
    expect(await verify(signer.publicKey.subarray(1), message, signature)).toBe(false)
    expect(verificationCount() - before).toBe(3)
  })
})

describe('callback verifiers (the ingest hot path)', () => {
  const verifiers: Array<[string, CallbackVerifier]> = [
    ['verifySignatureCallback', verifySignatureCallback],
    ['webcrypto', verifyWithWebCryptoCallback],
  ]
  it.each(verifiers)(
    '%s: the verdict and the tag reach done later; refused inputs return false',
    async (_, verify) => {
      const signer = await keyPairFromLabel('crypto-e')
      const message = new Uint8Array([7, 8, 9])
      const signature = await signer.sign(message)
      const forged = signature.slice()
      forged[5]! ^= 4
      const verdicts: Array<[string, boolean]> = []
      let settle!: () => void
      const all = new Promise<void>((resolve) => {
        settle = resolve
      })
      const done = (tag: string, ok: boolean) => {
        verdicts.push([tag, ok])
        if (verdicts.length === 2) settle()
      }
      expect(verify(signer.publicKey, message, signature, done, 'valid')).toBe(true)
      expect(verify(signer.publicKey, message, forged, done, 'forged')).toBe(true)
      expect(verdicts).toEqual([]) // never synchronously
      // refused before any verify: false, and done is never called for them
      expect(verify(signer.publicKey, message, signature.subarray(1), done, 'short signature')).toBe(false)
      expect(verify(signer.publicKey.subarray(1), message, signature, done, 'short key')).toBe(false)
      await all
      await new Promise((resolve) => setTimeout(resolve, 10))
      expect(verdicts.sort()).toEqual([
        ['forged', false],
        ['valid', true],
      ])
    },
  )
})

describe('sha256', () => {
  // node's one-shot hash (read back from its latin1 output) must give @noble/hashes' digest, as a plain
  // Uint8Array, for inputs of any length, offset and byte value (subarrays of a larger buffer included)
  it('equals the JS hash on random inputs', () => {
    const seed = 20261121
    const rand = seededRandom(seed)
    const big = new Uint8Array(4096).map(() => Math.floor(rand() * 256))
    for (let n = 0; n < 300; n++) {
      const start = Math.floor(rand() * 2048)
      const input = big.subarray(start, start + Math.floor(rand() * 600))
      const got = sha256(input)
      expect(got.constructor, `seed ${seed}`).toBe(Uint8Array)
      expect(got, `seed ${seed}, input ${n}`).toEqual(nobleSha256(input))
      // the index's form: the digest as a key string, and the device message built from it
      const key = sha256Key(input)
      expect(key, `seed ${seed}, input ${n}`).toBe(keyOf(got))
      expect(deviceSignatureMessageOfKey(key)).toEqual(deviceSignatureMessage(got))
    }
  })
})
