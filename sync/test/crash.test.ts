// kill -9 of a till during a stream of payments, then restart: every acknowledged payment is there, and the
// device chain continues without a fork, as seen by the till itself and by a peer that was receiving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  connect,
  converged,
  type Federation,
  type NodeProcess,
  setupFederation,
  startNode,
  stopAll,
} from './cluster.ts'

describe('crash during a stream of payments', () => {
  let fed: Federation
  const nodes: NodeProcess[] = []

  beforeAll(async () => {
    fed = await setupFederation(1, 2)
  }, 30_000)

  afterAll(async () => {
    await stopAll(nodes)
    fed?.cleanup()
  }, 30_000)

  it('every acknowledged payment survives kill -9 and the chain continues without a fork', async () => {
    const a = await startNode(fed.devices[0]!)
    const b = await startNode(fed.devices[1]!)
    nodes.push(a, b)
    await connect(b, a)
    const acked: string[] = []
    a.onEvent((e) => {
      if (e.event === 'ack') acked.push(String(e.hash))
    })
    await a.send({ cmd: 'stream' })
    // Let payments flow, then kill at an arbitrary moment (mid-append, with flushes in flight).
    while (acked.length < 40) await new Promise((r) => setTimeout(r, 20))
    a.kill('SIGKILL')
    await a.exited
    const ackedBeforeCrash = [...acked]
    expect(ackedBeforeCrash.length).toBeGreaterThanOrEqual(40)

    const a2 = await startNode(fed.devices[0]!)
    nodes.push(a2)
    // Every acknowledged payment is in the restarted till's own index (from its disk, no peer yet).
    expect((await a2.send({ cmd: 'has', hashes: ackedBeforeCrash })).missing).toEqual([])
    const before = (await a2.send({ cmd: 'stats' })).own as {
      max: number
      complete: boolean
      forks: number[]
    }
    expect(before.complete).toBe(true)
    expect(before.max).toBeGreaterThanOrEqual(ackedBeforeCrash.length)

    // The chain continues right after the last stored record.
    const next = await a2.send({ cmd: 'append' })
    expect(next.deviceSeq).toBe(before.max + 1)

    // The peer that was receiving during the crash sees one chain, no fork, once they meet again.
    await connect(b, a2)
    await converged([a2, b], 0)
    const chains = (await b.send({ cmd: 'stats' })).chains as Record<
      string,
      { max: number; complete: boolean; forks: number[] }
    >
    expect(chains[a2.device]).toEqual({ max: before.max + 1, complete: true, forks: [] })
  }, 90_000)
})
