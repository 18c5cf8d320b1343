// mDNS discovery on the LAN: two certified peers that were never told about each other find each other,
// pass the handshake and sync; with mDNS switched off they stay apart.

import type { PeerId as RepoPeerId } from '@automerge/automerge-repo'
import { Repo } from '@automerge/automerge-repo'
import { afterEach, describe, expect, it } from 'vitest'
import { generateEd25519Signer } from './ed25519.ts'
import { type LakouNetwork, startLakouNetwork } from './mod.ts'
import { StaticPeerAuthenticator } from './static-authenticator.ts'
import { credentialsFor, devicePrincipal } from './testing.ts'

const networks: LakouNetwork[] = []
afterEach(async () => {
  await Promise.all(networks.splice(0).map((n) => n.stop()))
})

async function pair(mdns: boolean): Promise<[LakouNetwork, LakouNetwork]> {
  const signers = [await generateEd25519Signer(), await generateEd25519Signer()]
  const authenticator = new StaticPeerAuthenticator(signers.map((s) => devicePrincipal(s)))
  for (const s of signers) {
    networks.push(
      await startLakouNetwork({
        listen: ['/ip4/0.0.0.0/tcp/0'],
        mdns,
        credentials: credentialsFor(s),
        authenticator,
        log: () => {},
      }),
    )
  }
  return networks.slice(-2) as [LakouNetwork, LakouNetwork]
}

describe('mDNS discovery', () => {
  it('finds, authenticates and syncs with a peer on the LAN without being told its address', async () => {
    const [a, b] = await pair(true)
    const principal = await a.access.whenAuthenticated(b.host.peerId.toString(), 15_000)
    expect(principal.kind).toBe('device')
    const repoA = new Repo({ network: [a.adapter], peerId: a.host.peerId.toString() as RepoPeerId })
    const repoB = new Repo({ network: [b.adapter], peerId: b.host.peerId.toString() as RepoPeerId })
    const handle = repoA.create<{ found: string }>({ found: 'by mdns' })
    const seen = await repoB.find<{ found: string }>(handle.url, { signal: AbortSignal.timeout(10_000) })
    expect(seen.doc().found).toBe('by mdns')
    await Promise.all([repoA.shutdown(), repoB.shutdown()])
  })

  it('stays apart with mDNS switched off', async () => {
    const [a, b] = await pair(false)
    await new Promise((r) => setTimeout(r, 1_500))
    expect(a.host.getConnections(b.host.peerId)).toHaveLength(0)
  })
})
