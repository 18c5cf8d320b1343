// `npm run bench -- <name> [--json out.json] [bench-specific args]`
import '../sync/polyfills.ts'
import { writeFileSync } from 'node:fs'
import { argValue, type Bench, formatTable } from './harness.ts'

// Each bench lives in bench/<name>.ts and exports `run: Bench`.
const known = ['verify', 'sync', 'festival', 'tap', 'ui', 'reconnect', 'idle'] as const

const [name, ...args] = process.argv.slice(2)
if (!name || !(known as readonly string[]).includes(name)) {
  console.error(`usage: npm run bench -- <${known.join('|')}> [--json out.json]`)
  process.exit(2)
}
const mod = (await import(`./${name}.ts`)) as { run: Bench }
const result = await mod.run({ args })
console.log(formatTable(name, result.rows))
const jsonPath = argValue(args, '--json')
if (jsonPath) {
  writeFileSync(jsonPath, `${JSON.stringify(result.json, null, 2)}\n`)
  console.log(`wrote ${jsonPath}`)
}
process.exit(0)
