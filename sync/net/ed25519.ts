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
