// No till dies of automerge-repo's own uncaught waits: a DocHandle wait for a document that never becomes
// available rejects (automerge-repo's TimeoutError) with nobody awaiting it. In a bare process that ends
// the process (Node's default, what killed festival tills); in a venue node's process the guard logs it and
// the node keeps serving (it appends a record afterwards).
import { spawn } from 'node:child_process'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { setupFederation } from '../test/cluster.ts'
import { isRepoWaitError } from './repo-guard.ts'

const root = path.resolve(import.meta.dirname, '../..')
const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

function run(
  args: string[],
): Promise<{ code: number | null; lines: Array<Record<string, unknown>>; stderr: string }> {
  const child = spawn(
    process.execPath,
    ['sync/node/run-bundled.mjs', 'sync/node/repo-guard-child.ts', ...args],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => {
    stdout += d
  })
  child.stderr.on('data', (d) => {
    stderr += d
  })
  return new Promise((resolve) =>
    child.on('exit', (code) =>
      resolve({
        code,
        stderr,
        lines: stdout
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      }),
    ),
  )
}

describe('automerge-repo uncaught waits', () => {
  it('recognises the timeout and not-ready errors only', () => {
    const timeout = new Error('withTimeout: timed out after 60000ms')
    timeout.name = 'TimeoutError'
    expect(isRepoWaitError(timeout)).toBe(true)
    expect(isRepoWaitError(new Error('DocHandle is not ready'))).toBe(true)
    expect(isRepoWaitError(new Error('withTimeout: timed out after 60000ms'))).toBe(false) // not its class
    expect(isRepoWaitError(new TypeError('x is undefined'))).toBe(false)
    expect(isRepoWaitError('withTimeout')).toBe(false)
  })

  it('ends a bare process, but a venue node logs it and keeps serving', async () => {
    const bare = await run([])
    expect(bare.code).not.toBe(0)
    expect(bare.stderr).toContain('withTimeout: timed out after 300ms')
    expect(bare.lines.some((l) => l.event === 'done')).toBe(false)

    const fed = await setupFederation(1, 1)
    cleanups.push(() => fed.cleanup())
    const guarded = await run(['--data', fed.devices[0]!])
    expect(guarded.stderr).not.toContain('Error')
    expect(guarded.code).toBe(0)
    const logs = guarded.lines.map((l) => String(l.log ?? ''))
    expect(logs.some((l) => l.includes('automerge-repo wait failed') && l.includes('300ms'))).toBe(true)
    expect(guarded.lines.find((l) => l.event === 'appended')).toMatchObject({ deviceSeq: 1 })
    expect(guarded.lines.at(-1)).toEqual({ event: 'done' })
  }, 60_000)
})
