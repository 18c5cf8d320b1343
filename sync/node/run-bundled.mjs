#!/usr/bin/env node
// Runs a TypeScript entry of this repo from an esbuild bundle instead of through tsx: a till's cold start
// was ~2.5 s of Node + tsx start-up and on-the-fly transforms before any Lakou code ran.
//   node sync/node/run-bundled.mjs <entry.ts> [args...]
// The bundle (dist/bundles/<entry>.mjs) holds the npm packages too, except those that load files next to
// their own code (automerge's wasm, native addons: NATIVE below): Node's ESM loader resolving, reading and
// compiling the ~450 files of libp2p & co. one by one took 0.9-1.2 s of a till's start, one file 0.25-0.5 s.
// It is rebuilt when missing, when any source file it was built from changed since (mtimes from esbuild's
// metafile) or when npm changed node_modules, so a fresh clone and an edited checkout both just work.
// Plain JS on purpose: it must start without tsx.
import { execFileSync } from 'node:child_process'
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = path.resolve(import.meta.dirname, '../..')

// Left out of the bundle (imported from node_modules at run time): packages that read files relative to
// their own location (automerge's .wasm, node-gyp addons) and the build tool itself.
const NATIVE = [
  '@automerge/automerge',
  '@automerge/automerge/*',
  'cbor-extract',
  '@pokusew/pcsclite',
  'nfc-pcsc',
  'smartcard',
  'bufferutil',
  'utf-8-validate',
  'esbuild',
]

async function stale(outfile, metafile) {
  try {
    const [out, meta] = await Promise.all([stat(outfile), readFile(metafile, 'utf8')])
    // npm rewrites node_modules/.package-lock.json on every install (bundled packages may have changed),
    // and this file holds the build options
    const inputs = Object.keys(JSON.parse(meta).inputs)
      .filter((f) => !f.includes('node_modules'))
      .concat('node_modules/.package-lock.json', path.relative(root, fileURLToPath(import.meta.url)))
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
  // built under its final name (the map's link names the file) in a directory of this process beside
  // dist/bundles (same depth: the map's relative source paths stay right), then moved
  const tmpDir = path.join(path.dirname(dir), `.bundles-build-${process.pid}`)
  const tmp = path.join(tmpDir, path.basename(outfile))
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    external: NATIVE,
    // bundled CommonJS packages call require() for Node built-ins and the external packages
    banner: {
      js: "import { createRequire as __lakouRequire } from 'node:module'; const require = __lakouRequire(import.meta.url);",
    },
    platform: 'node',
    target: 'node20',
    format: 'esm',
    outfile: tmp,
    metafile: true,
    // a separate file (used with --enable-source-maps): 2 MB of code would carry ~5 MB of inline map
    sourcemap: 'linked',
    logLevel: 'error',
  })
  // Concurrent starts (many tills) may build at once: each writes its own file, renames are atomic.
  await writeFile(`${metafile}.${process.pid}.tmp`, JSON.stringify(result.metafile))
  await rename(`${tmp}.map`, `${outfile}.map`)
  await rename(tmp, outfile)
  await rename(`${metafile}.${process.pid}.tmp`, metafile)
  await rm(tmpDir, { recursive: true, force: true })
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
