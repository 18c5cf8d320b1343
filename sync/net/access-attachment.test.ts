// Hello attachments (sync/node sends the heads of the documents it holds in them): carried both ways,
// handed over before the peer counts as authenticated, never from a peer that fails the handshake.
import { cbor } from '@automerge/automerge-repo/slim'
import * as lp from 'it-length-prefixed'
import { describe, expect, it } from 'vitest'
import {
  HELLO_PROTOCOL,
  type HelloAttachment,
  type LocalCredentials,
  MAX_HELLO_ATTACHMENT_BYTES,
  PeerAccess,
  type PeerPrincipal,
  peerBindingMessage,
} from './access.ts'
import { generateEd25519Signer } from './ed25519.ts'
import { StaticPeerAuthenticator } from './static-authenticator.ts'
import { testHosts } from './test-hosts.ts'
import { credentialsFor, devicePrincipal } from './testing.ts'

const { cleanup, host } = testHosts()

/** A guarded host whose attachment says `text`, and what it was handed, in order with authentications. */
async function guarded(
  credentials: LocalCredentials,
  trusted: PeerPrincipal[],
  local: () => Uint8Array | undefined,
) {
  const h = await host()
  const events: string[] = []
  const attachment: HelloAttachment = {
    local,
    remote: (peerId, bytes) => events.push(`att ${peerId} ${bytes ? new TextDecoder().decode(bytes) : '-'}`),
  }
  const access = new PeerAccess({
    credentials,
    authenticator: new StaticPeerAuthenticator(trusted),
    attachment,
    log: () => {},
  })
  access.on('peer:authenticated', ({ peerId }) => events.push(`auth ${peerId}`))
  await access.start(h)
  cleanup.push(() => access.stop())
  return { host: h, access, events }
}

const text = (s: string) => () => new TextEncoder().encode(s)

describe('hello attachments', () => {
  it('carries each side attachment to the other before the peer counts as authenticated', async () => {
    const [sa, sb] = [await generateEd25519Signer(), await generateEd25519Signer()]
    const a = await guarded(credentialsFor(sa), [devicePrincipal(sb)], text('from a'))
    const b = await guarded(credentialsFor(sb), [devicePrincipal(sa)], text('from b'))
    const [ida, idb] = [a.host.peerId.toString(), b.host.peerId.toString()]
    await a.host.dial(b.host.getMultiaddrs())
    await Promise.all([a.access.whenAuthenticated(idb), b.access.whenAuthenticated(ida)])
    expect(a.events).toEqual([`att ${idb} from b`, `auth ${idb}`])
    expect(b.events).toEqual([`att ${ida} from a`, `auth ${ida}`])
  })

  it('leaves out an attachment over the size limit, and hands nothing from a refused peer', async () => {
    const [sa, sb] = [await generateEd25519Signer(), await generateEd25519Signer()]
    const big = () => new Uint8Array(MAX_HELLO_ATTACHMENT_BYTES + 1).fill(0x61)
    // b trusts a; a trusts nobody: a refuses b, so a never hands over b's attachment
    const a = await guarded(credentialsFor(sa), [], big)
    const b = await guarded(credentialsFor(sb), [devicePrincipal(sa)], text('from b'))
    const rejected = new Promise((resolve) => a.access.on('peer:rejected', resolve))
    await a.host.dial(b.host.getMultiaddrs()).catch(() => {})
    await rejected
    expect(a.events).toEqual([])
    // b accepted a's hello (its answer was the refusal): the oversized attachment was not sent
    expect(b.events.filter((e) => e.startsWith('att'))).toEqual([`att ${a.host.peerId.toString()} -`])
  })

  it('refuses a hello whose attachment is not bytes, with a typed error', async () => {
    const victim = await generateEd25519Signer()
    const server = await guarded(
      credentialsFor(await generateEd25519Signer()),
      [devicePrincipal(victim)],
      () => undefined,
    )
    const rogue = await host()
    const rejected = new Promise<{ error: Error }>((resolve) => server.access.on('peer:rejected', resolve))
    const sig = await victim.sign(peerBindingMessage(rogue.peerId.toString()))
    const stream = await rogue.dialProtocol(server.host.getMultiaddrs(), HELLO_PROTOCOL)
    const hello = { v: 1, cert: new Uint8Array([0]), key: victim.publicKey, sig, att: 'not bytes' }
    stream.send(lp.encode.single(cbor.encode(hello)))
    expect((await rejected).error.name).toBe('MalformedFrameError')
    expect(server.events).toEqual([])
  })
})
