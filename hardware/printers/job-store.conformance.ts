// The one conformance suite every PrintJobStore adapter runs (automerge-repo style).
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { InvalidPrintInputError } from './errors.ts'
import type { PrintJob, PrintJobStore } from './job-store.ts'

export interface StoreFixture {
  readonly store: PrintJobStore
  /** A new store instance over the same storage, as after a restart of the service. */
  reopen(): Promise<PrintJobStore>
  teardown(): Promise<void>
}

const seed = 20261121

export function job(id: string, seq: number, overrides: Partial<PrintJob> = {}): PrintJob {
  return {
    id,
    printerId: 'bar',
    kind: 'kitchen',
    label: `ticket ${id}`,
    bytes: Uint8Array.from({ length: 16 }, (_, i) => (i * 37 + seq) & 0xff),
    seq,
    createdAt: 1_700_000_000_000 + seq,
    attempts: 0,
    ...overrides,
  }
}

export function runPrintJobStoreConformance(name: string, setup: () => Promise<StoreFixture>): void {
  describe(`PrintJobStore conformance: ${name}`, () => {
    let fixture: StoreFixture
    beforeEach(async () => {
      fixture = await setup()
    })
    afterEach(async () => {
      await fixture.teardown()
    })

    it('starts empty', async () => {
      expect(await fixture.store.list()).toEqual([])
    })

    it('returns every byte value and field unchanged', async () => {
      const all = job('a/kitchen/bar', 1, {
        bytes: Uint8Array.from({ length: 256 }, (_, i) => i),
        lastError: 'x',
      })
      await fixture.store.put(all)
      const [back] = await fixture.store.list()
      expect(back).toEqual(all)
      expect(back?.bytes).toBeInstanceOf(Uint8Array)
    })

    it('replaces a job with the same id', async () => {
      await fixture.store.put(job('a', 1))
      await fixture.store.put(job('a', 1, { attempts: 3, lastError: 'connect ECONNREFUSED' }))
      const jobs = await fixture.store.list()
      expect(jobs).toHaveLength(1)
      expect(jobs[0]?.attempts).toBe(3)
      expect(jobs[0]?.lastError).toBe('connect ECONNREFUSED')
    })

    it('deletes, and deleting a missing id is not an error', async () => {
      await fixture.store.put(job('a', 1))
      await fixture.store.put(job('b', 2))
      await fixture.store.delete('a')
      await fixture.store.delete('never-there')
      expect((await fixture.store.list()).map((j) => j.id)).toEqual(['b'])
    })

    it('lists by seq, whatever the insertion order', async () => {
      for (const [id, seq] of [
        ['c', 30],
        ['a', 10],
        ['b', 20],
      ] as const) {
        await fixture.store.put(job(id, seq))
      }
      expect((await fixture.store.list()).map((j) => j.id)).toEqual(['a', 'b', 'c'])
    })

    it('is not changed by callers mutating bytes they passed in or got back', async () => {
      const original = job('a', 1)
      await fixture.store.put(original)
      original.bytes.fill(0)
      const [first] = await fixture.store.list()
      first?.bytes.fill(1)
      const [second] = await fixture.store.list()
      expect(second?.bytes).toEqual(job('a', 1).bytes)
    })

    it('rejects an invalid job with a typed error and keeps what it had', async () => {
      await fixture.store.put(job('a', 1))
      const bad = [
        { ...job('b', 2), bytes: [1, 2] as unknown as Uint8Array },
        { ...job('', 2) },
        { ...job('c', 2), kind: 'poster' as PrintJob['kind'] },
        { ...job('d', 2), attempts: -1 },
        { ...job('e', 2.5) },
      ]
      for (const item of bad)
        await expect(fixture.store.put(item)).rejects.toBeInstanceOf(InvalidPrintInputError)
      expect((await fixture.store.list()).map((j) => j.id)).toEqual(['a'])
    })

    it('keeps jobs across a reopen (service restart)', async () => {
      await fixture.store.put(job('a', 1))
      await fixture.store.put(job('b', 2, { printerId: 'kitchen', kind: 'receipt' }))
      await fixture.store.delete('a')
      const reopened = await fixture.reopen()
      expect(await reopened.list()).toEqual([job('b', 2, { printerId: 'kitchen', kind: 'receipt' })])
    })

    it(`matches a Map model over random put/delete sequences (fast-check seed ${seed})`, async () => {
      const op = fc.oneof(
        fc.record({ put: fc.constantFrom('j1', 'j2', 'j3', 'j/4', 'ünï'), attempts: fc.nat(5) }),
        fc.record({ del: fc.constantFrom('j1', 'j2', 'j3', 'j/4', 'ünï') }),
      )
      let run = 0
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 8 }), async (ops) => {
          run += 1
          const model = new Map<string, PrintJob>()
          for (const existing of await fixture.store.list()) await fixture.store.delete(existing.id)
          for (const [i, step] of ops.entries()) {
            if ('put' in step) {
              const next = job(step.put, run * 100 + i, { attempts: step.attempts })
              model.set(step.put, next)
              await fixture.store.put(next)
            } else {
              model.delete(step.del)
              await fixture.store.delete(step.del)
            }
          }
          const expected = [...model.values()].sort((a, b) => a.seq - b.seq)
          expect(await fixture.store.list()).toEqual(expected)
          expect(await (await fixture.reopen()).list()).toEqual(expected)
        }),
        { seed, numRuns: 25 },
      )
    })
  })
}
