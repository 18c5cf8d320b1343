// A hello does not wait for libuv's thread pool. After a festival heal a till's pool is full of bulk work
// (thousands of record verifies, file writes); a handshake whose verify queued behind it took tens of
// seconds. Here every pool thread is held (each blocked opening a FIFO that nobody writes), and two peers
// that never met still pass the handshake; then the pool is released.
import { execFileSync } from 'node:child_process'
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { connectAll, startTestPeers, type TestPeer } from './testing.ts'

let peers: TestPeer[] = []
let release = () => {}
afterEach(async () => {
  release()
  await Promise.all(peers.map((p) => p.stop()))
  peers = []
})

/** Holds every libuv pool thread until the returned function is called. */
function holdThreadPool(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'lakou-pool-'))
  const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4)
  const fifos = Array.from({ length: threads }, (_, i) => join(dir, `fifo${i}`))
  execFileSync('mkfifo', fifos)
  // Each open blocks one pool thread until a writer opens the FIFO.
  const reads = fifos.map((f) => open(f, 'r').then((h) => h.close()))
  return () => {
    // A blocking open for writing returns at once: a reader is waiting on each FIFO.
    for (const f of fifos) closeSync(openSync(f, constants.O_WRONLY))
    void Promise.all(reads).finally(() => rmSync(dir, { recursive: true, force: true }))
    release = () => {}
  }
}

describe('handshake beside a busy thread pool', () => {
  it('two peers that never met pass the handshake while every libuv pool thread is held', async () => {
    peers = await startTestPeers(3, { connect: false })
    const [a, b, c] = peers as [TestPeer, TestPeer, TestPeer]
    // Each host signs its own hello once (on the pool): done here, before the pool is held.
    await connectAll([a, b])
    await connectAll([b, c])
    release = holdThreadPool()
    await a.host.dial(c.host.getMultiaddrs())
    const principal = await a.access.whenAuthenticated(c.host.peerId.toString(), 20_000)
    await c.access.whenAuthenticated(a.host.peerId.toString(), 20_000)
    expect(principal.devicePublicKey).toEqual(c.principal.devicePublicKey)
  }, 40_000)
})
