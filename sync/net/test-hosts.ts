// Test-only: libp2p hosts on 127.0.0.1 (no mDNS), stopped after each test together with whatever else the
// test registers in `cleanup`, last registered first. Call `testHosts()` at a test file's top level.
import type { Libp2p } from '@libp2p/interface'
import { afterEach } from 'vitest'
import { createLakouHost } from './host.ts'

export function testHosts(): {
  cleanup: Array<() => Promise<unknown> | unknown>
  host: () => Promise<Libp2p>
} {
  const cleanup: Array<() => Promise<unknown> | unknown> = []
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c()
  })
  const host = async () => {
    const h = await createLakouHost({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
    cleanup.push(() => h.stop())
    return h
  }
  return { cleanup, host }
}
