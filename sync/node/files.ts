// Small durable file helpers for the data dir: atomic write (tmp + fsync + rename + dir fsync) and key files
// that must stay private (mode 0600).
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { KeyFileError } from './errors.ts'
import { generateKeyPair, type KeyPair, keyPairFromSeed } from './ledger.ts'

/** Writes `data` (or its parts, one after the other: no single buffer of it all) atomically and durably. */
export async function writeFileDurably(
  file: string,
  data: Uint8Array | string | Uint8Array[],
  mode = 0o644,
): Promise<void> {
  const dir = path.dirname(file)
  await fs.mkdir(dir, { recursive: true })
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`
  const fh = await fs.open(tmp, 'w', mode)
  try {
    if (Array.isArray(data)) for (const part of data) await fh.write(part)
    else await fh.writeFile(data)
    await fh.sync()
  } finally {
    await fh.close()
  }
  await fs.chmod(tmp, mode)
  await fs.rename(tmp, file)
  const d = await fs.open(dir, 'r')
  try {
    await d.sync()
  } finally {
    await d.close()
  }
}

export async function readIfExists(file: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await fs.readFile(file))
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw e
  }
}

/** Loads an Ed25519 key (32-byte seed, mode 0600) or creates it when `create` is set. */
export async function loadKey(file: string, options: { create?: boolean } = {}): Promise<KeyPair> {
  const seed = await readIfExists(file)
  if (!seed) {
    if (!options.create) throw new KeyFileError(`${file} does not exist`)
    const key = await generateKeyPair()
    await writeFileDurably(file, key.seed, 0o600)
    return key
  }
  const st = await fs.stat(file)
  if ((st.mode & 0o077) !== 0)
    throw new KeyFileError(
      `${file} is readable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`,
    )
  if (seed.length !== 32) throw new KeyFileError(`${file} is not a 32-byte Ed25519 seed`)
  return keyPairFromSeed(seed)
}
