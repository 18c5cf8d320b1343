#!/usr/bin/env node
// The whole test suite: system packages (when root), the vitest suites (unit, property, multi-process,
// hardware on the real PC/SC stack) and the Playwright end-to-end tests in Debian's chromium.
// Ends with the plain line `N passed, N failed` that CI reads.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const outDir = join(root, 'test-results')
mkdirSync(outDir, { recursive: true })
const run = (cmd, args, env = {}) =>
  spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } }).status

let passed = 0
let failed = 0
const crashed = []

const deps = run('bash', ['scripts/system-deps.sh'])
if (deps !== 0) console.error('test: system packages missing; hardware and browser tests will fail')

// nfc-pcsc is optional: it is skipped by `npm install` on a machine without libpcsclite-dev.
if (!existsSync(join(root, 'node_modules/nfc-pcsc')) && existsSync('/usr/include/PCSC/winscard.h')) {
  run('npm', ['install', '--no-save', '--include=optional', '--no-audit', '--no-fund'], {
    npm_config_nodedir: process.env.npm_config_nodedir ?? '/usr',
  })
}

const vitestJson = join(outDir, 'vitest.json')
const vitestStatus = run('npx', [
  'vitest',
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${vitestJson}`,
])
if (existsSync(vitestJson)) {
  const r = JSON.parse(readFileSync(vitestJson, 'utf8'))
  passed += r.numPassedTests
  failed += r.numFailedTests
  // A file that fails to load counts as a failure even when it declares no test.
  failed += r.testResults.filter((f) => f.status === 'failed' && f.assertionResults.length === 0).length
} else crashed.push(`vitest exited ${vitestStatus} without a report`)

if (existsSync(join(root, 'playwright.config.ts'))) {
  const pwJson = join(outDir, 'playwright.json')
  const pwStatus = run('npx', ['playwright', 'test'], { PLAYWRIGHT_JSON_OUTPUT_NAME: pwJson })
  if (existsSync(pwJson)) {
    const s = JSON.parse(readFileSync(pwJson, 'utf8')).stats
    passed += s.expected + (s.flaky ?? 0)
    failed += s.unexpected
  } else crashed.push(`playwright exited ${pwStatus} without a report`)
}

for (const c of crashed) console.error(`test: ${c}`)
failed += crashed.length
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed > 0 ? 1 : 0)
