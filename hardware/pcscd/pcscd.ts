// pcscd lifecycle for tests, the bench and the node: detect a running pcscd, start one in the foreground
// when needed, wait for readiness WITHOUT touching vpcd's card port (a connection there is a card
// insertion), and stop only the daemon we started.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PcscdUnavailableError } from '../errors.ts'
import { VPCD_PORTS } from '../vpcd/vpcd-card.ts'

export const PCSCD_SOCKET = '/run/pcscd/pcscd.comm'
export const PCSCD_BINARY = '/usr/sbin/pcscd'
const VPCD_DRIVER = '/usr/lib/pcsc/drivers/serial/libifdvpcd.so'
const SYSTEM_PACKAGES = ['pcscd', 'libpcsclite-dev', 'vsmartcard-vpcd']

/** True when something listens on 127.0.0.1:<port> (read from /proc/net/tcp, no connection made). */
export function isLoopbackPortListening(port: number): boolean {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/)
      // cols[1] = local address "0100007F:8C7B", cols[3] = state (0A = LISTEN)
      if (cols[1]?.endsWith(`:${hexPort}`) && cols[3] === '0A') return true
    }
  }
  return false
}

/** Pids of live processes whose command name is pcscd. */
export function pcscdPids(): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'pcscd') continue
      // A zombie (exited, not yet reaped) is not a running daemon.
      const state = /\) (\S)/.exec(readFileSync(`/proc/${entry}/stat`, 'utf8'))?.[1]
      if (state !== 'Z') pids.push(Number(entry))
    } catch {
      // the process exited while we looked
    }
  }
  return pids
}

/** pcscd is up and its socket exists: it is then safe to construct nfc-pcsc (which busy-loops otherwise). */
export function isPcscdReady(): boolean {
  return existsSync(PCSCD_SOCKET) && pcscdPids().length > 0
}

/** pcscd is ready and both vpcd virtual readers accept cards. */
export function isVpcdReady(): boolean {
  return isPcscdReady() && VPCD_PORTS.every((p) => isLoopbackPortListening(p))
}

export interface PcscdHandle {
  /** False when an already running pcscd was reused. */
  started: boolean
  pid: number | undefined
  /** Stops pcscd if this handle started it. */
  stop(): Promise<void>
}

/** Installs the PC/SC packages with apt-get when missing; throws a clear PcscdUnavailableError otherwise. */
export function ensurePcscdInstalled(): void {
  if (existsSync(PCSCD_BINARY) && existsSync(VPCD_DRIVER)) return
  const install = `apt-get update && apt-get install -y ${SYSTEM_PACKAGES.join(' ')}`
  if (process.getuid?.() !== 0) {
    throw new PcscdUnavailableError(`pcscd or vsmartcard-vpcd is not installed; as root run: ${install}`)
  }
  const r = spawnSync('sh', ['-c', `DEBIAN_FRONTEND=noninteractive ${install} >/dev/null`], {
    stdio: 'inherit',
  })
  if (r.status !== 0 || !existsSync(PCSCD_BINARY) || !existsSync(VPCD_DRIVER)) {
    throw new PcscdUnavailableError(
      `could not install ${SYSTEM_PACKAGES.join(' ')} with apt-get (exit ${r.status})`,
    )
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) return false
    await new Promise((r) => setTimeout(r, 20))
  }
  return true
}

/** Reuses a running pcscd, or starts `pcscd --foreground` and waits until vpcd's readers are up. */
export async function startPcscd(options: { timeoutMs?: number } = {}): Promise<PcscdHandle> {
  const timeoutMs = options.timeoutMs ?? 10_000
  if (pcscdPids().length > 0) {
    if (!(await waitFor(isVpcdReady, timeoutMs))) {
      throw new PcscdUnavailableError(
        'a pcscd is running but the vpcd virtual readers (ports 35963/35964) are not up',
      )
    }
    return { started: false, pid: undefined, stop: async () => {} }
  }
  ensurePcscdInstalled()
  if (process.getuid?.() !== 0 && !existsSync('/run/pcscd')) {
    throw new PcscdUnavailableError('pcscd is not running and starting it needs root (it creates /run/pcscd)')
  }
  const child: ChildProcess = spawn(PCSCD_BINARY, ['--foreground'], { stdio: 'ignore' })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let failed: Error | undefined
  child.once('error', (err) => {
    failed = err
  })
  const ready = await waitFor(
    () => failed !== undefined || child.exitCode !== null || isVpcdReady(),
    timeoutMs,
  )
  if (!ready || failed || child.exitCode !== null) {
    child.kill('SIGKILL')
    throw new PcscdUnavailableError(
      `pcscd did not become ready (${failed?.message ?? (child.exitCode !== null ? `exit ${child.exitCode}` : 'timeout')})`,
    )
  }
  // The daemon must not keep a test worker or the bench alive; stop() or the global teardown ends it.
  child.unref()
  return {
    started: true,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
      await exited
      clearTimeout(timer)
    },
  }
}

/** Where a test that restarts pcscd records the pid of the replacement it started (for global teardown). */
export const RESTARTED_PCSCD_PID_FILE = join(tmpdir(), 'lakou-hardware-restarted-pcscd.pid')

export function recordRestartedPcscd(pid: number): void {
  writeFileSync(RESTARTED_PCSCD_PID_FILE, String(pid))
}

/** Stops the replacement pcscd recorded by a restart test, if it is still that pcscd. */
export function stopRestartedPcscd(): void {
  if (!existsSync(RESTARTED_PCSCD_PID_FILE)) return
  const pid = Number(readFileSync(RESTARTED_PCSCD_PID_FILE, 'utf8'))
  rmSync(RESTARTED_PCSCD_PID_FILE, { force: true })
  if (Number.isInteger(pid) && pcscdPids().includes(pid)) process.kill(pid, 'SIGTERM')
}

/** Stops a pcscd by pid (one this process or its test run started) and waits until it is gone. */
export async function killPcscd(pid: number, timeoutMs = 5000): Promise<void> {
  if (!pcscdPids().includes(pid)) return
  process.kill(pid, 'SIGTERM')
  if (!(await waitFor(() => !pcscdPids().includes(pid), timeoutMs))) process.kill(pid, 'SIGKILL')
}

/** Lock held while a test run or the bench drives the two vpcd readers of the machine's pcscd. */
export const VPCD_LOCK_DIR = join(tmpdir(), 'lakou-vpcd.lock')

function lockHolderAlive(dir: string): boolean {
  try {
    const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'))
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: alive but not ours to signal; anything else (no pid file yet, ESRCH): treat as stale.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Takes the vpcd readers for this process (mkdir is atomic), waiting while another live process holds
 * them; a lock left by a dead process is taken over. Returns the release function.
 */
export async function acquireVpcdLock(timeoutMs = 120_000, dir = VPCD_LOCK_DIR): Promise<() => void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      mkdirSync(dir)
      writeFileSync(join(dir, 'pid'), String(process.pid))
      return () => rmSync(dir, { recursive: true, force: true })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    // Give a fresh holder time to write its pid before judging the lock stale.
    await new Promise((r) => setTimeout(r, 200))
    if (!lockHolderAlive(dir) && existsSync(join(dir, 'pid'))) rmSync(dir, { recursive: true, force: true })
    if (Date.now() > deadline) throw new PcscdUnavailableError(`the vpcd readers stayed busy (${dir})`)
  }
}
