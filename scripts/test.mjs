#!/usr/bin/env node
// The whole test suite: system packages (when root), the vitest suites (unit, property, multi-process,
// hardware on the real PC/SC stack) and the Playwright end-to-end tests in Debian's chromium.
// Ends with the plain line `N passed, N failed` that CI reads, whatever happens before it: a runner that
// crashes, writes no report, or fails outside its tests (a hook, a file that does not load, unhandled
// errors) counts as failed (scripts/test-summary.mjs). No test is retried (scripts/test-summary.test.ts
// checks both configs); should a Playwright test ever pass on a retry, it is named on its own line as flaky.
// Exit status: 0 when nothing failed, 1 otherwise.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { summarizePlaywright, summarizeVitest, summaryLines } from './test-summary.mjs'

const root = new URL('..', import.meta.url).pathname
const outDir = join(root, 'test-results')
const run = (cmd, args, env = {}) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } })
  return r.status ?? `signal ${r.signal}`
}

const summaries = []
const problems = []

/** Runs a runner that writes a JSON report; a missing or unreadable report is one failure. */
function runWithReport(runner, report, command, args, env, summarize) {
  rmSync(report, { force: true }) // never count a previous run's report
  const status = run(command, args, env)
  if (!existsSync(report)) return problems.push(`${runner} exited ${status} without a report`)
  let parsed
  try {
    parsed = JSON.parse(readFileSync(report, 'utf8'))
  } catch (err) {
    return problems.push(`${runner} report ${report} is unreadable: ${err.message}`)
  }
  summaries.push(summarize(parsed, status))
}

try {
  mkdirSync(outDir, { recursive: true })
  const deps = run('bash', ['scripts/system-deps.sh'])
  if (deps !== 0) console.error('test: system packages missing; hardware and browser tests will fail')

  // nfc-pcsc is optional: it is skipped by `npm install` on a machine without libpcsclite-dev.
  if (!existsSync(join(root, 'node_modules/nfc-pcsc')) && existsSync('/usr/include/PCSC/winscard.h')) {
    run('npm', ['install', '--no-save', '--include=optional', '--no-audit', '--no-fund'], {
      npm_config_nodedir: process.env.npm_config_nodedir ?? '/usr',
    })
  }

  const vitestJson = join(outDir, 'vitest.json')
  runWithReport(
    'vitest',
    vitestJson,
    'npx',
    ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${vitestJson}`],
    {},
    (r, status) => summarizeVitest(r, status, root),
  )
  if (existsSync(join(root, 'playwright.config.ts'))) {
    const pwJson = join(outDir, 'playwright.json')
    runWithReport(
      'playwright',
      pwJson,
      'npx',
      ['playwright', 'test'],
      { PLAYWRIGHT_JSON_OUTPUT_NAME: pwJson },
      summarizePlaywright,
    )
  }
} catch (err) {
  problems.push(`test runner crashed: ${err?.stack ?? err}`)
}

const { failed, lines } = summaryLines(summaries, problems)
for (const line of lines) console.log(line)
// .ci/run checks this file: without it (a crash before this point) it prints a failing summary itself.
writeFileSync(join(outDir, 'summary.txt'), `${lines.at(-1)}\n`)
process.exit(failed > 0 ? 1 : 0)
