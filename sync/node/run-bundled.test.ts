// The bundle `lakou node` starts from: built when missing, reused while fresh, rebuilt when a source
// changed; and `lakou node` itself starts from it and serves.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { setupFederation } from '../test/cluster.ts'

const root = path.resolve(import.meta.dirname, '../..')
type RunBundled = { ensureBundle(entry: string): Promise<string> }
const load = async () => (await import(`./run-bundled${'.mjs'}`)) as RunBundled

const cleanups: Array<() => void> = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})

describe('run-bundled', () => {
  it('builds a bundle once, reuses it while fresh, rebuilds when a source file changed', async () => {
    const { ensureBundle } = await load()
    const dir = mkdtempSync(path.join(tmpdir(), 'lakou-bundle-'))
    const dep = path.join(dir, 'dep.ts')
    const entry = path.join(dir, 'entry.ts')
    writeFileSync(dep, 'export const value: number = 1\n')
    writeFileSync(entry, "import { value } from './dep.ts'\nexport default value\n")
    const rel = path.relative(root, entry)
    const out = await ensureBundle(rel)
    cleanups.push(() => {
      rmSync(dir, { recursive: true, force: true })
      rmSync(out, { force: true })
      rmSync(out.replace(/\.mjs$/, '.meta.json'), { force: true })
    })
    expect((await import(`${pathToFileURL(out).href}?1`)).default).toBe(1)
    const built = statSync(out).mtimeMs
    expect(await ensureBundle(rel)).toBe(out)
    expect(statSync(out).mtimeMs).toBe(built) // fresh: not rebuilt

    writeFileSync(dep, 'export const value: number = 2\n')
    const later = new Date(built + 5000)
    utimesSync(dep, later, later) // a dependency, not the entry, changed
    await ensureBundle(rel)
    expect((await import(`${pathToFileURL(out).href}?2`)).default).toBe(2)
  })

  it('lakou node starts from the bundle and reports ready', async () => {
    const fed = await setupFederation(1, 1)
    cleanups.push(() => fed.cleanup())
    const child = spawn(
      process.execPath,
      [
        'scripts/lakou.mjs',
        'node',
        '--data',
        fed.devices[0]!,
        '--listen',
        '/ip4/127.0.0.1/tcp/0',
        '--no-mdns',
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      child.on('exit', (code) => reject(new Error(`exited ${code}`)))
      createInterface({ input: child.stdout! }).on('line', (l) => {
        const m = JSON.parse(l)
        if (m.event === 'ready') resolve(m)
      })
    })
    expect(String(ready.peerId)).toMatch(/^12D3KooW/)
    expect((ready.addresses as string[])[0]).toContain('/ip4/127.0.0.1/tcp/')
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
  }, 60_000)
})
