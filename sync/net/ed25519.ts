// Ed25519 through WebCrypto (Node 20 and Chromium), per the project contract: never tweetnacl for signatures.

export async function verifyEd25519(
  publicKey: Uint8Array,
  signature: Uint8Array,
  message: Uint8Array,
): Promise<boolean> {
  if (publicKey.byteLength !== 32 || signature.byteLength !== 64) return false
  try {
    const key = await crypto.subtle.importKey('raw', publicKey as BufferSource, { name: 'Ed25519' }, false, [
      'verify',
    ])
    return await crypto.subtle.verify('Ed25519', key, signature as BufferSource, message as BufferSource)
  } catch {
    return false
  }
}

type NodeCrypto = {
  createPublicKey(key: { key: Uint8Array; format: 'der'; type: 'spki' }): unknown
  verify(algorithm: null, data: Uint8Array, key: unknown, signature: Uint8Array): boolean
}
// Found at run time, so browsers load this file unchanged (they have no synchronous verify).
const nodeCrypto = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
).process?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined
/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32 key bytes follow. */
const ED25519_SPKI_PREFIX = new Uint8Array([
  0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
])

/**
 * Ed25519 verify on the calling thread (node:crypto), undefined in browsers. For the handshake: WebCrypto's
 * verify waits its turn on libuv's thread pool, behind whatever bulk work a loaded node queued there.
 */
export const verifyEd25519Now:
  | ((publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array) => boolean)
  | undefined = nodeCrypto
  ? (publicKey, signature, message) => {
      if (publicKey.byteLength !== 32 || signature.byteLength !== 64) return false
      try {
        const der = new Uint8Array(ED25519_SPKI_PREFIX.length + 32)
        der.set(ED25519_SPKI_PREFIX)
        der.set(publicKey, ED25519_SPKI_PREFIX.length)
        const key = nodeCrypto.createPublicKey({ key: der, format: 'der', type: 'spki' })
        return nodeCrypto.verify(null, message, key, signature) === true
      } catch {
        return false
      }
    }
  : undefined

export interface Ed25519Signer {
  publicKey: Uint8Array
  sign(message: Uint8Array): Promise<Uint8Array>
}

/** A fresh in-memory Ed25519 key (tests, tools). Real devices load theirs from the data dir. */
export async function generateEd25519Signer(): Promise<Ed25519Signer> {
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, false, [
    'sign',
    'verify',
  ])) as CryptoKeyPair
  const publicKey = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey))
  return {
    publicKey,
    sign: async (message) =>
      new Uint8Array(await crypto.subtle.sign('Ed25519', pair.privateKey, message as BufferSource)),
  }
}
