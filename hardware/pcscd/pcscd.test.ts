import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { acquireVpcdLock, isLoopbackPortListening } from './pcscd.ts'

describe('pcscd helpers', () => {
  it('sees a listening loopback port in /proc/net/tcp without connecting, and not after close', async () => {
    const server = createServer((s) => {
      throw new Error(`unexpected connection from ${s.remotePort}`)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as { port: number }).port
    expect(isLoopbackPortListening(port)).toBe(true)
    await new Promise((r) => server.close(r))
    expect(isLoopbackPortListening(port)).toBe(false)
  })

  it('the vpcd lock is exclusive: a second taker waits for the release', async () => {
    // A lock of its own: the real one is held by this run's globalSetup.
    const parent = mkdtempSync(join(tmpdir(), 'lakou-lock-test-'))
    onTestFinished(() => rmSync(parent, { recursive: true, force: true }))
    const dir = join(parent, 'lock')
    const release = await acquireVpcdLock(5000, dir)
    let second = false
    const waiting = acquireVpcdLock(5000, dir).then((r) => {
      second = true
      return r
    })
    await new Promise((r) => setTimeout(r, 500))
    expect(second).toBe(false)
    release()
    const release2 = await waiting
    expect(second).toBe(true)
    release2()
    expect(existsSync(dir)).toBe(false)
  })
})
