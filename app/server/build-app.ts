// `npm start` builds the app when dist/app is missing or older than its sources. Vite builds offline.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const repoRoot = new URL('../../', import.meta.url).pathname
export const DIST_APP = join(repoRoot, 'dist/app')
const SOURCES = ['app/src', 'app/shared', 'app/public', 'app/index.html', 'vite.config.ts']

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0
  const info = statSync(path)
  if (!info.isDirectory()) return info.mtimeMs
  let newest = info.mtimeMs
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)))
  return newest
}

export function appBuildIsStale(): boolean {
  const index = join(DIST_APP, 'index.html')
  if (!existsSync(index)) return true
  const built = statSync(index).mtimeMs
  return SOURCES.some((s) => newestMtime(join(repoRoot, s)) > built)
}

/** Builds dist/app with vite when stale; returns whether it built. Throws when the build fails. */
export function ensureAppBuilt(log: (line: string) => void = console.log): boolean {
  if (!appBuildIsStale()) return false
  log('lakou: building the app (vite build)...')
  const vite = join(repoRoot, 'node_modules/vite/bin/vite.js')
  const r = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], {
    cwd: repoRoot,
    stdio: 'inherit',
  })
  if (r.status !== 0) throw new Error(`vite build failed with status ${r.status}`)
  return true
}
