// Runs the festival bench directly (same output as bench/run.ts):
//   node --import tsx bench/festival/main.ts [--json out.json] [--tills N --records N --seconds N ...]
import '../../sync/polyfills.ts'
import { writeFileSync } from 'node:fs'
import { argValue, formatTable } from '../harness.ts'
import { run } from './bench.ts'

const args = process.argv.slice(2)
const result = await run({ args })
console.log(formatTable('festival', result.rows))
const jsonPath = argValue(args, '--json')
if (jsonPath) {
  writeFileSync(jsonPath, `${JSON.stringify(result.json, null, 2)}\n`)
  console.log(`wrote ${jsonPath}`)
}
process.exit(0)
