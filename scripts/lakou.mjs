#!/usr/bin/env node
// `lakou <command>`: runs the TypeScript sources through tsx; `lakou node` starts from an esbuild bundle.
import { launchedAsTill, relaunchAsTill, stopWithLauncher } from '../sync/node/till-launch.mjs'

if (process.argv[2] === 'node' && !process.env.LAKOU_NO_BUNDLE) {
  // A till needs V8 flags and an environment that only apply at process start (sync/node/till-launch.mjs).
  if (!launchedAsTill()) process.exit(await relaunchAsTill())
  stopWithLauncher()
  // `lakou node` starts from an esbuild bundle rebuilt when stale (sync/node/run-bundled.mjs): no tsx.
  const { runBundled } = await import('../sync/node/run-bundled.mjs')
  await runBundled('sync/node/node-main.ts', process.argv.slice(3))
} else {
  const { register } = await import('tsx/esm/api')
  register()
  await import('../sync/polyfills.ts')
  const { main } = await import('./cli.ts')
  await main(process.argv.slice(2))
}
