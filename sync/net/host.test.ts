// The peer key in the data dir: created once with mode 0600, reused on restart, never silently replaced.
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PeerKeyFileError } from './errors.ts'
import { createLakouHost, loadOrCreatePeerKey, PEER_KEY_FILE } from './host.ts'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lakou-host-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('peer key persistence', () => {
  it('creates the key with mode 0600 and gives the host the same peer id after a restart', async () => {
    const data = join(dir, 'node')
    const first = await createLakouHost({ dataDir: data, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
    const id = first.peerId.toString()
    await first.stop()
    expect((await stat(join(data, PEER_KEY_FILE))).mode & 0o777).toBe(0o600)
    const second = await createLakouHost({ dataDir: data, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
    expect(second.peerId.toString()).toBe(id)
    await second.stop()
  })

  it('refuses a corrupt key file with a typed error instead of replacing the identity', async () => {
    const data = join(dir, 'corrupt')
    await loadOrCreatePeerKey(data)
    await writeFile(join(data, PEER_KEY_FILE), 'not a key')
    await expect(loadOrCreatePeerKey(data)).rejects.toBeInstanceOf(PeerKeyFileError)
  })
})

describe('connection monitor', () => {
  it('keeps a connection whose pings answer slower than the ping interval (pings overlap)', async () => {
    const PING = '/ipfs/ping/1.0.0'
    const slow = await createLakouHost({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
    const pinger = await createLakouHost({
      listen: ['/ip4/127.0.0.1/tcp/0'],
      mdns: false,
      pingIntervalMs: 200,
    })
    try {
      // A loaded peer: every ping is echoed 1 s late, so ~5 of the pinger's pings are in flight at once.
      await slow.unhandle(PING)
      await slow.handle(
        PING,
        async (stream) => {
          for await (const chunk of stream) {
            await new Promise((r) => setTimeout(r, 1000))
            stream.send(chunk)
          }
          await stream.close()
        },
        { maxInboundStreams: 16 },
      )
      const closed: string[] = []
      pinger.addEventListener('connection:close', (e) => closed.push(e.detail.remotePeer.toString()))
      await pinger.dial(slow.getMultiaddrs()[0]!)
      await new Promise((r) => setTimeout(r, 3000))
      expect(closed).toEqual([])
      expect(pinger.getConnections(slow.peerId)).toHaveLength(1)
    } finally {
      await pinger.stop()
      await slow.stop()
    }
  }, 20_000)
})
