#!/usr/bin/env node
// Runs a TypeScript entry of this repo from an esbuild bundle instead of through tsx: a till's cold start
// was ~2.5 s of Node + tsx start-up and on-the-fly transforms before any Lakou code ran.
//   node sync/node/run-bundled.mjs <entry.ts> [args...]
// The bundle (dist/bundles/<entry>.mjs, npm packages left external) is rebuilt when missing or when any
// source file it was built from changed since (mtimes from esbuild's metafile), so a fresh clone and an
// edited checkout both just work. Plain JS on purpose: it must start without tsx.
import { execFileSync } from 'node:child_process'
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = path.resolve(import.meta.dirname, '../..')

async function stale(outfile, metafile) {
  try {
    const [out, meta] = await Promise.all([stat(outfile), readFile(metafile, 'utf8')])
    const inputs = Object.keys(JSON.parse(meta).inputs).filter((f) => !f.includes('node_modules'))
    const times = await Promise.all(inputs.map((f) => stat(path.resolve(root, f)).then((s) => s.mtimeMs)))
    return times.some((t) => t > out.mtimeMs)
  } catch {
    return true // missing bundle, missing metafile or a source file gone
  }
}

function bundlePaths(entry) {
  const name = entry.replace(/\.[cm]?ts$/, '').replaceAll(/[\\/]/g, '__')
  const dir = path.join(root, 'dist', 'bundles')
  return { dir, outfile: path.join(dir, `${name}.mjs`), metafile: path.join(dir, `${name}.meta.json`) }
}

/**
 * Path of an up-to-date bundle of `entry` (relative to the repo root), building it if needed. The build runs
 * in a child process: esbuild's service (a child it keeps alive) never lives inside the node it starts, and
 * took the node's SIGTERM handling with it (the node died on the signal instead of stopping cleanly).
 */
export async function ensureBundle(entry) {
  const { outfile, metafile } = bundlePaths(entry)
  if (!(await stale(outfile, metafile))) return outfile
  execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--build', entry], { stdio: 'inherit' })
  return outfile
}

async function build(entry) {
  const { dir, outfile, metafile } = bundlePaths(entry)
  const esbuild = await import('esbuild')
  await mkdir(dir, { recursive: true })
  const tmp = `${outfile}.${process.pid}.tmp`
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    packages: 'external',
    platform: 'node',
    target: 'node20',
    format: 'esm',
    outfile: tmp,
    metafile: true,
    sourcemap: 'inline',
    logLevel: 'error',
  })
  // Concurrent starts (many tills) may build at once: each writes its own file, renames are atomic.
  await writeFile(`${metafile}.${process.pid}.tmp`, JSON.stringify(result.metafile))
  await rename(tmp, outfile)
  await rename(`${metafile}.${process.pid}.tmp`, metafile)
}

// sync/polyfills.ts, repeated here: npm packages stay external, so the bundle's imports of libp2p are
// evaluated before any code of the bundle itself could install it.
if (typeof Promise.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value() {
      let resolve
      let reject
      const promise = new Promise((res, rej) => {
        resolve = res
        reject = rej
      })
      return { promise, resolve, reject }
    },
  })
}

/** Runs `entry` (repo-relative) from its bundle with `args` as its process.argv.slice(2). */
export async function runBundled(entry, args) {
  const outfile = await ensureBundle(entry)
  process.argv = [process.argv[0], outfile, ...args]
  await import(pathToFileURL(outfile).href)
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [entry, ...args] = process.argv.slice(2)
  if (entry === '--build' && args[0]) {
    await build(args[0])
    process.exit(0)
  }
  if (!entry) {
    console.error('usage: node sync/node/run-bundled.mjs <entry.ts> [args...]')
    process.exit(2)
  }
  await runBundled(path.relative(root, path.resolve(entry)), args)
}
