// Starts demo nodes as separate OS processes (`lakou demo`), each on a free port with a fresh data folder.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface DemoNode {
  url: string
  dataDir: string
  process: ChildProcess
  /** Everything the node printed so far (pairing codes, addresses). */
  output(): string
  stop(): Promise<void>
}

const root = new URL('../../', import.meta.url).pathname

/** Starts `lakou demo`; with `join` set, a second till enrolled in that node's demo folder. */
export async function startDemoNode(
  options: { join?: DemoNode; args?: string[]; dataDir?: string } = {},
): Promise<DemoNode> {
  const dataDir = options.join?.dataDir ?? options.dataDir ?? mkdtempSync(join(tmpdir(), 'lakou-e2e-'))
  const args = options.args ?? (options.join ? ['--join'] : [])
  const child = spawn(
    process.execPath,
    ['scripts/lakou.mjs', 'demo', '--port', '0', '--data', dataDir, '--no-build', ...args],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start:\n${output}`)), 60_000)
    const onData = (d: Buffer) => {
      output += d.toString()
      if (output.length > 100_000) output = output.slice(-50_000)
      const m = /Lakou demo: (http:\/\/\S+)/.exec(output)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code) => reject(new Error(`demo exited ${code}:\n${output}`)))
  })
  // Keep collecting after start (the listeners stay attached).
  return {
    url,
    dataDir,
    process: child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
    },
  }
}
