#!/usr/bin/env node
// `lakou <command>`: runs the TypeScript sources through tsx; `lakou node` starts from an esbuild bundle.
import { register } from 'tsx/esm/api'

if (process.argv[2] === 'node' && !process.env.LAKOU_NO_BUNDLE) {
  // `lakou node` starts from an esbuild bundle rebuilt when stale (sync/node/run-bundled.mjs): no tsx.
  const { runBundled } = await import('../sync/node/run-bundled.mjs')
  await runBundled('sync/node/node-main.ts', process.argv.slice(3))
} else {
  register()
  await import('../sync/polyfills.ts')
  const { main } = await import('./cli.ts')
  await main(process.argv.slice(2))
}
