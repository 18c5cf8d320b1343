// How a till's Node process is started: the same V8 flags and environment for `lakou node` and for every
// node a test or bench spawns (sync/test/json-lines-process.ts), so what the benches measure is what runs.
// Both only take effect at process start (V8 sizes its young generation, glibc its malloc arenas, once), so
// `lakou node` started without them re-runs itself as a child process that has them.
// Plain JS on purpose: scripts/lakou.mjs imports it before tsx is loaded.
import { spawn } from 'node:child_process'
import { constants } from 'node:os'

/**
 * V8 flags of a till. `--max-semi-space-size=4` (MB): V8's young generation grows to 2 x 16 MB and, once
 * touched, stays resident; at 4 MB a restarted till at 200,000 records peaked at 285-299 MB instead of
 * 316-327. With MALLOC_ARENA_MAX=1 below, festival 10 x 20k: 1.80 ms of CPU per record per till against
 * 1.77 without either (sync/README "Till memory").
 */
export const TILL_NODE_FLAGS = ['--max-semi-space-size=4']

/**
 * Environment of a till. `MALLOC_ARENA_MAX=1`: glibc gives each thread that mallocs (16 libuv threads, V8's
 * workers) an arena of its own, up to 8 per core, and keeps what is freed in each: one arena took a
 * restarted till from 285-299 to 256-280 MB. `UV_THREADPOOL_SIZE=16`: fsyncs and WebCrypto verifies share
 * libuv's thread pool (4 threads by default). A value already in the environment wins (A/B runs).
 */
export const TILL_ENV = { MALLOC_ARENA_MAX: '1', UV_THREADPOOL_SIZE: '16' }

/** Set in a till process started with the flags and environment above. */
const LAUNCHED = 'LAKOU_TILL_LAUNCHED'

/** The environment to start a till process with (on top of `base`, whose own values win). */
export function tillEnv(base = process.env) {
  return { ...TILL_ENV, ...base, [LAUNCHED]: '1' }
}

/** Was this process started as a till (by tillEnv), so it has the flags and environment above? */
export function launchedAsTill(env = process.env) {
  return env[LAUNCHED] === '1'
}

/**
 * Runs this same script again (`process.argv.slice(1)`) as a till: a child process with the till's flags
 * and environment, stdio shared; SIGINT, SIGTERM and SIGHUP are passed on. Resolves with the child's
 * exit code (128 + signal number when a signal ended it). The till should call stopWithLauncher().
 */
export function relaunchAsTill(argv = process.argv.slice(1)) {
  const child = spawn(process.execPath, [...TILL_NODE_FLAGS, ...process.execArgv, ...argv], {
    // an IPC channel only so the till sees its launcher die (stopWithLauncher below)
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: tillEnv(),
  })
  const forward = (signal) => child.kill(signal)
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP']
  for (const s of signals) process.on(s, forward)
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      for (const s of signals) process.off(s, forward)
      resolve(code ?? 128 + (constants.signals[signal] ?? 0))
    })
  })
}

/**
 * In a till started by relaunchAsTill: when the launcher process dies without passing a signal on (kill -9,
 * an OOM kill), the till gets SIGTERM and stops as it would on Ctrl-C, instead of running on unseen.
 * No-op in a process started otherwise. The channel does not keep the event loop alive.
 */
export function stopWithLauncher() {
  if (!process.channel || !launchedAsTill()) return
  process.channel.unref()
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'))
}
