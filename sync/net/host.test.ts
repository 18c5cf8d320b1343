// The peer key in the data dir: created once with mode 0600, reused on restart, never silently replaced.
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PeerKeyFileError } from './errors.ts'
import { connectionCloseReasons, createLakouHost, loadOrCreatePeerKey, PEER_KEY_FILE } from './host.ts'

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

describe('connection close reasons', () => {
  it('counts why connections closed, on both sides, with peer ids and numbers stripped', async () => {
    const a = await createLakouHost({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
    const b = await createLakouHost({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
    try {
      const conn = await a.dial(b.getMultiaddrs()[0]!)
      const gone = new Promise((r) => b.addEventListener('connection:close', r, { once: true }))
      conn.abort(new Error(`ping to ${b.peerId} failed after 31000 ms`))
      await gone
      expect([...connectionCloseReasons(a)]).toEqual([['local Error: ping to PEER failed after N ms', 1]])
      expect([...connectionCloseReasons(b).values()].reduce((x, y) => x + y, 0)).toBe(1)
      // b sees the reset of its socket (libp2p reports it as a local close with the socket's error)
      expect([...connectionCloseReasons(b).keys()][0]).toMatch(/^(local|remote) \w+/)
      await a.dial(b.getMultiaddrs()[0]!)
      await a.hangUp(b.peerId)
      // a clean close has no error (libp2p's own `local` flag says which side's socket ended first)
      expect([...connectionCloseReasons(a).keys()].filter((k) => / closed$/.test(k))).toHaveLength(1)
    } finally {
      await a.stop()
      await b.stop()
    }
  })
})

describe('inbound connections', () => {
  it('accepts a dozen devices dialling at once from one address (one NAT, one test machine)', async () => {
    const target = await createLakouHost({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
    const dialers = await Promise.all(
      Array.from({ length: 12 }, () => createLakouHost({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })),
    )
    try {
      const results = await Promise.allSettled(dialers.map((d) => d.dial(target.getMultiaddrs()[0]!)))
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []))
      expect(failures).toEqual([])
      // the last upgrades may finish on the target's side a moment after the dialler's
      await expect.poll(() => target.getConnections().length).toBe(12)
    } finally {
      await Promise.all([...dialers, target].map((h) => h.stop()))
    }
  }, 30_000)
})
