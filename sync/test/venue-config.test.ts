// Venue configuration over real libp2p between separate OS processes: an admin device's catalog edit
// reaches a till of the venue; a till (cashier) cannot sign one.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { admitVenue, createFederation, enrollDevice } from '../node/setup.ts'
import { connect, type NodeProcess, startNode, stopAll } from './cluster.ts'

type ConfigReply = { sections: Record<string, { version: number; value: unknown }>; rejected: string[] }

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const t0 = Date.now()
  for (;;) {
    const v = await fn()
    if (ok(v)) return v
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out; last: ${JSON.stringify(v)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('venue config between two venue nodes', () => {
  let dir: string
  let nodes: NodeProcess[] = []

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'lakou-config-'))
    await createFederation(path.join(dir, 'federation'))
    await admitVenue(path.join(dir, 'federation'), path.join(dir, 'venue'), 'Café')
    await enrollDevice(path.join(dir, 'venue'), path.join(dir, 'admin'), { roles: ['admin'] })
    await enrollDevice(path.join(dir, 'venue'), path.join(dir, 'till'), { roles: ['cashier'] })
    nodes = await Promise.all([startNode(path.join(dir, 'admin')), startNode(path.join(dir, 'till'))])
  }, 60_000)

  afterAll(async () => {
    await stopAll(nodes)
    if (dir) rmSync(dir, { recursive: true, force: true })
  }, 30_000)

  it("an admin's catalog edit reaches the till; the till cannot sign config", async () => {
    const [admin, till] = nodes as [NodeProcess, NodeProcess]
    await connect(till, admin)
    await expect(
      till.send({ cmd: 'configAppend', section: 'catalog', value: { products: ['forged'] } }),
    ).rejects.toThrow(/not-admin/)

    const v1 = await admin.send({ cmd: 'configAppend', section: 'catalog', value: { products: ['beer'] } })
    expect(v1.version).toBe(1)
    const seen1 = await until(
      () => till.send({ cmd: 'config' }) as Promise<ConfigReply>,
      (r) => r.sections.catalog?.version === 1,
    )
    expect(seen1.sections.catalog!.value).toEqual({ products: ['beer'] })

    const v2 = await admin.send({
      cmd: 'configAppend',
      section: 'catalog',
      value: { products: ['beer', 'ipa'] },
    })
    expect(v2.version).toBe(2)
    const seen2 = await until(
      () => till.send({ cmd: 'config' }) as Promise<ConfigReply>,
      (r) => r.sections.catalog?.version === 2,
    )
    expect(seen2.sections.catalog!.value).toEqual({ products: ['beer', 'ipa'] })
    expect(seen2.rejected).toEqual([])
    // Both replicas resolve the same winner.
    const adminView = (await admin.send({ cmd: 'config' })) as ConfigReply
    expect(adminView.sections).toEqual(seen2.sections)

    // The till writes a higher version straight into the doc: it syncs, and is refused by both.
    await till.send({
      cmd: 'configForge',
      section: 'catalog',
      version: 99,
      value: { products: ['free beer'] },
    })
    const refused = await until(
      () => admin.send({ cmd: 'config' }) as Promise<ConfigReply>,
      (r) => r.rejected.length === 1,
    )
    expect(refused.rejected).toEqual(['VenueConfigRejectedError'])
    expect(refused.sections.catalog).toEqual(seen2.sections.catalog)
    const tillView = (await till.send({ cmd: 'config' })) as ConfigReply
    expect(tillView.sections.catalog!.version).toBe(2)
  }, 60_000)
})
