import { describe, expect, it } from 'vitest'
import { keyPairFromLabel, verifySignature } from './crypto.ts'

// verifySignature caches imported keys by their bytes: its verdicts must equal a fresh WebCrypto
// import's on valid and damaged inputs (a key with one bit flipped must not hit the original's cache
// entry), and it never throws.
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

describe('verifySignature', () => {
  it('accepts a valid signature and refuses damaged ones like WebCrypto does', async () => {
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
      const ours = await verifySignature(key, message, signature)
      expect(ours, `seed ${seed} round ${round}`).toBe(await webCryptoVerdict(key, message, signature))
      if (what === 0) expect(ours, `seed ${seed} round ${round}`).toBe(true)
      if (ours) valid++
    }
    expect(valid).toBeGreaterThan(10)
  })

  it('refuses, without throwing, keys that are not curve points and wrong lengths', async () => {
    const signer = await keyPairFromLabel('crypto-c')
    const message = new Uint8Array([1, 2, 3])
    const signature = await signer.sign(message)
    const notAPoint = new Uint8Array(32).fill(0xff)
    expect(await verifySignature(notAPoint, message, signature)).toBe(
      await webCryptoVerdict(notAPoint, message, signature),
    )
    expect(await verifySignature(notAPoint, message, signature)).toBe(false)
    expect(await verifySignature(signer.publicKey.subarray(1), message, signature)).toBe(false)
    expect(await verifySignature(signer.publicKey, message, signature.subarray(1))).toBe(false)
    expect(await verifySignature(signer.publicKey, message, signature)).toBe(true)
  })
})
