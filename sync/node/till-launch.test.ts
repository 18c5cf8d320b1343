// A till started without its V8 flags and environment runs itself again as a child that has them
// (scripts/lakou.mjs does this for `lakou node`): arguments, exit code and signals pass through.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { TILL_ENV, TILL_NODE_FLAGS, tillEnv } from './till-launch.mjs'

const launcher = pathToFileURL(path.join(import.meta.dirname, 'till-launch.mjs')).href
const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

// A script that relaunches itself as a till, then reports what it got and waits for a signal or exits.
function script(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'lakou-launch-'))
  dirs.push(dir)
  const file = path.join(dir, 'till.mjs')
  writeFileSync(
    file,
    `import { launchedAsTill, relaunchAsTill, stopWithLauncher } from '${launcher}'
if (!launchedAsTill()) process.exit(await relaunchAsTill())
stopWithLauncher()
const [mode] = process.argv.slice(2)
process.on('SIGTERM', () => { console.log(JSON.stringify({ term: true })); process.exit(0) })
console.log(JSON.stringify({ execArgv: process.execArgv, env: process.env, args: process.argv.slice(2), pid: process.pid }))
if (mode === 'exit') process.exit(7)
setInterval(() => {}, 1000)
`,
  )
  return file
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [file, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, LAKOU_TILL_LAUNCHED: '', ...env },
  })
  const lines: Array<Record<string, unknown>> = []
  const waiters: Array<() => void> = []
  createInterface({ input: child.stdout! }).on('line', (l) => {
    lines.push(JSON.parse(l))
    for (const w of waiters.splice(0)) w()
  })
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
  const line = async (n: number) => {
    while (lines.length <= n) await new Promise<void>((r) => waiters.push(r))
    return lines[n]!
  }
  return { child, line, exited }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('till launch', () => {
  it('relaunches with the till flags and environment; arguments and exit code pass through', async () => {
    const p = run(script(), ['exit', '--data', 'x'])
    const seen = (await p.line(0)) as {
      execArgv: string[]
      env: Record<string, string>
      args: string[]
      pid: number
    }
    expect(seen.pid).not.toBe(p.child.pid) // a child process did the work
    expect(seen.execArgv).toEqual(expect.arrayContaining(TILL_NODE_FLAGS))
    for (const [k, v] of Object.entries(TILL_ENV)) expect(seen.env[k]).toBe(v)
    expect(seen.args).toEqual(['exit', '--data', 'x'])
    expect(await p.exited).toBe(7)
  })

  it('passes SIGTERM on to the till and exits with its code', async () => {
    const p = run(script(), ['wait'])
    await p.line(0)
    p.child.kill('SIGTERM')
    expect(await p.line(1)).toEqual({ term: true })
    expect(await p.exited).toBe(0)
  })

  it('the till stops (SIGTERM) when its launcher is killed with SIGKILL', async () => {
    const p = run(script(), ['wait'])
    const { pid } = (await p.line(0)) as { pid: number }
    p.child.kill('SIGKILL')
    expect(await p.exited).toBe(null)
    // the till shares the launcher's stdout: it reports the SIGTERM it got, then is gone
    expect(await p.line(1)).toEqual({ term: true })
    await expect.poll(() => isAlive(pid), { timeout: 10_000 }).toBe(false)
  })

  it('a value already in the environment wins (A/B runs)', () => {
    const env = tillEnv({ MALLOC_ARENA_MAX: '8' })
    expect(env.MALLOC_ARENA_MAX).toBe('8')
    expect(env.LAKOU_TILL_LAUNCHED).toBe('1')
  })
})
