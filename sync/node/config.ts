// The node's data dir: what setup writes there and where each part lives.
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { NodeConfigError } from './errors.ts'
import { writeFileDurably } from './files.ts'

/** node.json: written by the setup commands (`lakou device enroll`), read at start. */
export interface NodeConfig {
  v: 1
  /** Federation public key, hex. */
  federationKey: string
  federationUrl: string
  /** The device's venue (venue public key, hex) and its venue doc; absent for a federation relay. */
  venueId?: string
  venueUrl?: string
  /** Hex of the CBOR credential bundle [device certificate, venue admission] shown in the handshake. */
  bundle: string
  roles: string[]
}

export const dataPaths = (dataDir: string) => ({
  config: path.join(dataDir, 'node.json'),
  deviceKey: path.join(dataDir, 'device.key'),
  federationKey: path.join(dataDir, 'federation.key'),
  venueKey: path.join(dataDir, 'venue.key'),
  automerge: path.join(dataDir, 'automerge'),
  checkpoint: path.join(dataDir, 'index.checkpoint'),
  /** The ledger's local snapshot, named by hash from the checkpoint it goes with. */
  ledgerSnapshot: path.join(dataDir, 'ledger.snapshot'),
  chainLog: path.join(dataDir, 'chain.log'),
  setup: path.join(dataDir, 'setup.json'),
})

export async function readNodeConfig(dataDir: string): Promise<NodeConfig> {
  const file = dataPaths(dataDir).config
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch {
    throw new NodeConfigError(`${file} not found: set the device up first (lakou device enroll)`)
  }
  let c: NodeConfig
  try {
    c = JSON.parse(text) as NodeConfig
  } catch (e) {
    throw new NodeConfigError(`${file} is not JSON: ${(e as Error).message}`)
  }
  if (c.v !== 1 || typeof c.federationKey !== 'string' || typeof c.federationUrl !== 'string' || !c.bundle) {
    throw new NodeConfigError(`${file} lacks federationKey, federationUrl or bundle`)
  }
  return c
}

export async function writeNodeConfig(dataDir: string, config: NodeConfig): Promise<void> {
  await writeFileDurably(dataPaths(dataDir).config, `${JSON.stringify(config, null, 2)}\n`)
}
