// Ed25519 through WebCrypto (native speed in Node 20 and Chromium; in Node, verification through
// node:crypto's callback verify, found at run time so browsers load this file unchanged) and a
// synchronous SHA-256.
// tweetnacl is never on the verification path (50-130x slower, see FACTS.md).
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import { bytesEqual, concatBytes, keyOf } from './bytes.ts'
import { LedgerKeyError } from './errors.ts'

const subtle = globalThis.crypto.subtle

// Node's one-shot native hash when the runtime has it (Node >= 20.16: process.getBuiltinModule, no
// import, so browsers load this file unchanged): ~4x faster than the JS hash on record-sized input,
// and hashing is on the ingest's main thread. Browsers use @noble/hashes.
type NodeHash = (algorithm: string, data: Uint8Array, encoding: 'latin1') => string
// node:crypto's callback verify and key objects: the same OpenSSL verify on libuv's pool as WebCrypto,
// with less main-thread work per call (no WebIDL conversion, no copies; ~10-15 us against 16-21 us, Node 20)
type NodeKeyObject = object
type NodeVerify = {
  (
    algorithm: null,
    data: Uint8Array,
    key: NodeKeyObject,
    signature: Uint8Array,
    callback: (err: Error | null, ok: boolean) => void,
  ): void
  // without a callback: on the calling thread
  (algorithm: null, data: Uint8Array, key: NodeKeyObject, signature: Uint8Array): boolean
}
type NodeCrypto = {
  hash?: NodeHash
  verify?: NodeVerify
  createPublicKey?: (input: { key: Uint8Array; format: 'der'; type: 'spki' }) => NodeKeyObject
}
const nodeCrypto = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => NodeCrypto | undefined } }
).process?.getBuiltinModule?.('node:crypto')
const nodeHash = nodeCrypto?.hash

export function sha256(bytes: Uint8Array): Uint8Array {
  if (nodeHash) {
    // the digest as a latin1 string, copied into a small Uint8Array: ~0.45 us against ~1.35 us for
    // the 'buffer' output, which allocates an ArrayBuffer per call (measured, Node 20; once per record)
    const s = nodeHash('sha256', bytes, 'latin1')
    const out = new Uint8Array(32)
    for (let i = 0; i < 32; i++) out[i] = s.charCodeAt(i)
    return out
  }
  return nobleSha256(bytes)
}

/** SHA-256 as a latin1 key string (keyOf's form of the digest): the index's record names, no bytes. */
export function sha256Key(bytes: Uint8Array): string {
  return nodeHash ? nodeHash('sha256', bytes, 'latin1') : keyOf(nobleSha256(bytes))
}

/** Something that signs with an Ed25519 key: a device key here, a signing card over PC/SC elsewhere. */
export interface Signer {
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array
  sign(message: Uint8Array): Promise<Uint8Array>
}

/** An Ed25519 key pair held in memory; `seed` is the 32-byte private key to store (mode 0600). */
export interface KeyPair extends Signer {
  readonly seed: Uint8Array
}

// PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410): fixed 16-byte prefix.
const PKCS8_PREFIX = new Uint8Array([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
])

function base64UrlToBytes(s: string): Uint8Array {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/')
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4))
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}

export async function keyPairFromSeed(seed: Uint8Array): Promise<KeyPair> {
  if (!(seed instanceof Uint8Array) || seed.length !== 32)
    throw new LedgerKeyError('an Ed25519 seed is 32 bytes')
  const seedCopy = seed.slice()
  const privateKey = await subtle.importKey(
    'pkcs8',
    concatBytes(PKCS8_PREFIX, seedCopy) as Uint8Array<ArrayBuffer>,
    'Ed25519',
    true,
    ['sign'],
  )
  const jwk = await subtle.exportKey('jwk', privateKey)
  if (!jwk.x) throw new LedgerKeyError('runtime did not export the Ed25519 public key')
  const publicKey = base64UrlToBytes(jwk.x)
  return {
    publicKey,
    seed: seedCopy,
    async sign(message: Uint8Array) {
      return new Uint8Array(await subtle.sign('Ed25519', privateKey, message as Uint8Array<ArrayBuffer>))
    },
  }
}

export async function generateKeyPair(): Promise<KeyPair> {
  return keyPairFromSeed(globalThis.crypto.getRandomValues(new Uint8Array(32)))
}

/** Deterministic key from a label (tests, fixtures, demo): seed = SHA-256("lakou/test-key/v1" || label). */
export function keyPairFromLabel(label: string): Promise<KeyPair> {
  return keyPairFromSeed(sha256(new TextEncoder().encode(`lakou/test-key/v1/${label}`)))
}

// Imported public keys, cached: import costs about as much as a verify. Bounded so a flood of
// card keys cannot grow memory without limit.
const keyCache = new Map<string, Promise<CryptoKey>>()
// Keys already imported, for a verify without an extra await on the hot path.
const readyKeys = new Map<string, CryptoKey>()
const KEY_CACHE_MAX = 50_000

function importPublicKey(k: string, publicKey: Uint8Array): Promise<CryptoKey> {
  let p = keyCache.get(k)
  if (!p) {
    if (keyCache.size >= KEY_CACHE_MAX) {
      keyCache.clear()
      readyKeys.clear()
    }
    p = subtle.importKey('raw', publicKey as Uint8Array<ArrayBuffer>, 'Ed25519', false, ['verify'])
    keyCache.set(k, p)
    p.then(
      (key) => readyKeys.set(k, key),
      () => keyCache.delete(k),
    )
  }
  return p
}

const no = () => false

let verifications = 0

/**
 * How many signatures this process has handed to an Ed25519 verify, whatever the path (node:crypto or
 * WebCrypto), valid or not. Inputs refused before the verify (wrong lengths, a key the runtime will not
 * import) are not counted. Monotonic: read it before and after, compare the difference (tests: "each
 * signature is verified once"; metrics: verifications per second).
 */
export function verificationCount(): number {
  return verifications
}

/**
 * Adds `n` to verificationCount(): signatures a verifier outside this module handed to an Ed25519 verify
 * (sync/node's verify workers), so the count stays "every verify, whatever the path".
 */
export function countVerifications(n: number): void {
  verifications += n
}

/** The browser path, also taken in Node where node:crypto is absent; exported so tests compare paths. */
export function verifyWithWebCrypto(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  if (publicKey.length !== 32 || signature.length !== 64) return Promise.resolve(false)
  const k = keyOf(publicKey)
  const ready = readyKeys.get(k)
  try {
    // hot path without a closure per call (ingest verifies every record)
    if (ready) {
      verifications++
      return subtle
        .verify('Ed25519', ready, signature as Uint8Array<ArrayBuffer>, message as Uint8Array<ArrayBuffer>)
        .then(undefined, no)
    }
    return importPublicKey(k, publicKey)
      .then((key) => {
        verifications++
        return subtle.verify(
          'Ed25519',
          key,
          signature as Uint8Array<ArrayBuffer>,
          message as Uint8Array<ArrayBuffer>,
        )
      })
      .then(undefined, no)
  } catch {
    return Promise.resolve(false)
  }
}

// SubjectPublicKeyInfo wrapping of a raw Ed25519 public key (RFC 8410): fixed 12-byte prefix.
const SPKI_PREFIX = new Uint8Array([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00])
// Node key objects, cached and bounded like the WebCrypto keys; null: a key OpenSSL refuses.
const nodeKeys = new Map<string, NodeKeyObject | null>()

function nodeKeyOf(
  createPublicKey: NonNullable<NodeCrypto['createPublicKey']>,
  k: string,
  publicKey: Uint8Array,
): NodeKeyObject | null {
  let key = nodeKeys.get(k)
  if (key === undefined) {
    if (nodeKeys.size >= KEY_CACHE_MAX) nodeKeys.clear()
    try {
      key = createPublicKey({ key: concatBytes(SPKI_PREFIX, publicKey), format: 'der', type: 'spki' })
    } catch {
      key = null
    }
    nodeKeys.set(k, key)
  }
  return key
}

/** Receives the verdict of a verification started by a callback verifier, with the caller's tag. */
export type VerifyDone<T> = (tag: T, ok: boolean) => void

/**
 * Starts a verification whose verdict goes to `done(tag, ok)`, always later (never synchronously).
 * Returns false, and never calls `done`, when the input is refused before any verify (wrong lengths, a
 * key the runtime will not take): the caller treats that as a failed signature.
 */
export type CallbackVerifier = <T>(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  done: VerifyDone<T>,
  tag: T,
) => boolean

// The key object of a raw public key for node:crypto, or null when OpenSSL refuses it. The last key is
// compared byte for byte first: a ledger page's records all name one device (no key string and map lookup
// per verify).
function nodeKeyLookup(
  createPublicKey: NonNullable<NodeCrypto['createPublicKey']>,
): (publicKey: Uint8Array) => NodeKeyObject | null {
  const lastBytes = new Uint8Array(32)
  let lastKey: NodeKeyObject | null = null
  return (publicKey) => {
    if (lastKey !== null && bytesEqual(publicKey, lastBytes)) return lastKey
    const key = nodeKeyOf(createPublicKey, keyOf(publicKey), publicKey)
    if (key === null) return null
    lastBytes.set(publicKey)
    lastKey = key
    return key
  }
}

function nodeCryptoCallbackVerifier(
  verify: NodeVerify,
  keyFor: (publicKey: Uint8Array) => NodeKeyObject | null,
): CallbackVerifier {
  return (publicKey, message, signature, done, tag) => {
    if (publicKey.length !== 32 || signature.length !== 64) return false
    const key = keyFor(publicKey)
    if (key === null) return false
    try {
      verify(null, message, key, signature, (err, ok) => done(tag, err === null && ok === true))
    } catch {
      return false
    }
    verifications++
    return true
  }
}

/** The browser's callback path (also where node:crypto is absent); exported for tests. */
export const verifyWithWebCryptoCallback: CallbackVerifier = (publicKey, message, signature, done, tag) => {
  if (publicKey.length !== 32 || signature.length !== 64) return false
  verifyWithWebCrypto(publicKey, message, signature).then((ok) => done(tag, ok))
  return true
}

const nodeKeyFor = nodeCrypto?.createPublicKey ? nodeKeyLookup(nodeCrypto.createPublicKey) : undefined
const nodeCallbackVerifier =
  nodeCrypto?.verify && nodeKeyFor ? nodeCryptoCallbackVerifier(nodeCrypto.verify, nodeKeyFor) : undefined

/**
 * Verifies on the calling thread (node:crypto's synchronous verify); undefined where the runtime has no
 * such verify (browsers: WebCrypto is asynchronous only). false, never a throw, for bad keys, lengths or
 * signatures. For a record or two at a time: the thread pool's round trip (a job, a thread woken, a
 * callback) cost more CPU than the verify saves the main thread when records arrive one by one, and on a
 * saturated machine there is no idle core for the pool to use (sync/README "Live CPU").
 */
export const verifySignatureNow:
  | ((publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean)
  | undefined =
  nodeCrypto?.verify && nodeKeyFor
    ? ((verify, keyFor) => (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => {
        if (publicKey.length !== 32 || signature.length !== 64) return false
        const key = keyFor(publicKey)
        if (key === null) return false
        verifications++
        try {
          return verify(null, message, key, signature) === true
        } catch {
          return false
        }
      })(nodeCrypto.verify, nodeKeyFor)
    : undefined

/**
 * verifySignature's path as a callback (the ingest's hot path: no promise or microtask per signature,
 * one closure inside node:crypto's call).
 */
export const verifySignatureCallback: CallbackVerifier = nodeCallbackVerifier ?? verifyWithWebCryptoCallback

const resolveWith: VerifyDone<(ok: boolean) => void> = (resolve, ok) => resolve(ok)

/** node:crypto's path where the runtime has it (Node >= 20.16), else undefined; exported for tests. */
export const verifyWithNodeCrypto: typeof verifyWithWebCrypto | undefined = nodeCallbackVerifier
  ? (publicKey, message, signature) =>
      new Promise<boolean>((resolve) => {
        if (!nodeCallbackVerifier(publicKey, message, signature, resolveWith, resolve)) resolve(false)
      })
  : undefined

/** Which path verifySignature takes in this runtime. */
export const verificationPath: 'node:crypto' | 'webcrypto' = verifyWithNodeCrypto
  ? 'node:crypto'
  : 'webcrypto'

/**
 * Verify an Ed25519 signature; false (never throws) for bad keys, lengths or signatures. node:crypto's
 * callback verify in Node (the fastest verify this runtime offers), WebCrypto in browsers.
 */
export const verifySignature: (
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
) => Promise<boolean> = verifyWithNodeCrypto ?? verifyWithWebCrypto
