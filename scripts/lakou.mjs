#!/usr/bin/env node
// `lakou <command>`: runs the TypeScript sources directly through tsx (no build step for the node).
import { register } from 'tsx/esm/api'

register()
await import('../sync/polyfills.ts')
const { main } = await import('./cli.ts')
await main(process.argv.slice(2))
