// The summary `npm test` ends with: every way a run can fail counts, and flaky tests are named.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
// @ts-expect-error plain JS module without types (it runs before any TypeScript tooling)
import { summarizePlaywright, summarizeVitest, summaryLines } from './test-summary.mjs'

type Summary = {
  passed: number
  failed: number
  failedNames: string[]
  flakyNames: string[]
  problems: string[]
}
const vitest = summarizeVitest as (r: unknown, status: number | string, root?: string) => Summary
const playwright = summarizePlaywright as (r: unknown, status: number | string) => Summary
const lines = summaryLines as (s: Summary[], p?: string[]) => { failed: number; lines: string[] }

const file = (name: string, status: string, tests: Array<[string, string]>, message = '') => ({
  name: `/repo/${name}`,
  status,
  message,
  assertionResults: tests.map(([fullName, s]) => ({ fullName, status: s })),
})

describe('summarizeVitest', () => {
  it('counts passed and failed tests and names the failed ones', () => {
    const s = vitest(
      {
        numPassedTests: 2,
        numFailedTests: 1,
        testResults: [
          file('a.test.ts', 'failed', [
            ['a works', 'passed'],
            ['a breaks', 'failed'],
          ]),
        ],
      },
      1,
      '/repo/',
    )
    expect(s).toMatchObject({ passed: 2, failed: 1, failedNames: ['a.test.ts › a breaks'], problems: [] })
  })

  it('counts a file that did not load, and one whose beforeAll threw (its tests reported skipped)', () => {
    const s = vitest(
      {
        numPassedTests: 1,
        numFailedTests: 0,
        testResults: [
          file('load.test.ts', 'failed', [], "Cannot find module './nope.ts'"),
          file('hook.test.ts', 'failed', [
            ['x', 'skipped'],
            ['y', 'skipped'],
          ]),
          file('ok.test.ts', 'passed', [['fine', 'passed']]),
        ],
      },
      1,
      '/repo/',
    )
    expect(s.failed).toBe(2)
    expect(s.failedNames).toEqual([
      "load.test.ts (failed outside its tests: Cannot find module './nope.ts')",
      'hook.test.ts (failed outside its tests: a hook failed or the file did not run)',
    ])
    expect(s.problems).toEqual([])
  })

  it('counts a non-zero exit with no failure in the report (unhandled errors) as a problem', () => {
    const report = { numPassedTests: 3, numFailedTests: 0, testResults: [] }
    expect(vitest(report, 1).problems).toHaveLength(1)
    expect(vitest(report, 0).problems).toEqual([])
  })
})

describe('summarizePlaywright', () => {
  const report = {
    stats: { expected: 2, unexpected: 1, flaky: 1 },
    errors: [],
    suites: [
      {
        title: 'evening.spec.ts',
        specs: [
          { file: 'evening.spec.ts', title: 'sells', tests: [{ status: 'expected' }] },
          { file: 'evening.spec.ts', title: 'syncs', tests: [{ status: 'flaky' }] },
        ],
        suites: [
          {
            title: 'doors',
            specs: [{ file: 'evening.spec.ts', title: 'double entry', tests: [{ status: 'unexpected' }] }],
          },
        ],
      },
    ],
  }

  it('counts a flaky test as passed and names it; names failed tests with their describe titles', () => {
    const s = playwright(report, 1)
    expect(s).toMatchObject({
      passed: 3,
      failed: 1,
      flakyNames: ['evening.spec.ts › syncs'],
      failedNames: ['evening.spec.ts › doors › double entry'],
      problems: [],
    })
  })

  it('counts errors outside tests (global setup) and an unexplained non-zero exit', () => {
    const broken = {
      stats: { expected: 0, unexpected: 0 },
      errors: [{ message: 'globalSetup threw\nstack' }],
    }
    expect(playwright(broken, 1).problems).toEqual(['playwright: globalSetup threw'])
    expect(playwright({ stats: { expected: 1, unexpected: 0 } }, 1).problems).toHaveLength(1)
  })
})

describe('summaryLines', () => {
  it('ends with `N passed, N failed`, problems counted as failures, flaky tests on their own lines', () => {
    const s = playwright(
      {
        stats: { expected: 1, unexpected: 0, flaky: 1 },
        suites: [{ title: 'f', specs: [{ file: 'f.spec.ts', title: 't', tests: [{ status: 'flaky' }] }] }],
      },
      0,
    )
    const out = lines([s], ['vitest exited 1 without a report'])
    expect(out.lines).toEqual([
      'flaky (passed on a retry): f.spec.ts › t',
      'test: vitest exited 1 without a report',
      '2 passed, 1 failed',
    ])
    expect(out.failed).toBe(1)
  })
})

describe('.ci/run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lakou-ci-run-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const root = new URL('..', import.meta.url).pathname

  /** Runs .ci/run with stand-ins for npm (and a system-deps script that succeeds) in a scratch checkout. */
  function ciRun(fakeNpm: string) {
    const repo = mkdtempSync(join(dir, 'repo-'))
    const bin = mkdtempSync(join(dir, 'bin-'))
    spawnSync('mkdir', ['-p', join(repo, '.ci'), join(repo, 'scripts'), join(repo, 'test-results')])
    writeFileSync(join(repo, '.ci/run'), readFileSync(join(root, '.ci/run')))
    writeFileSync(join(repo, 'scripts/system-deps.sh'), 'exit 0\n')
    writeFileSync(join(bin, 'npm'), `#!/bin/sh\n${fakeNpm}\n`, { mode: 0o755 })
    const r = spawnSync('bash', ['.ci/run'], {
      cwd: repo,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    })
    return { status: r.status, lastLine: r.stdout.trimEnd().split('\n').at(-1) }
  }

  it('ends with a failing summary line when npm install fails', () => {
    expect(ciRun('exit 7')).toEqual({ status: 1, lastLine: '0 passed, 1 failed' })
  })

  it('ends with a failing summary line when the test runner dies before its summary', () => {
    expect(ciRun('[ "$1" = test ] && { echo "3 passed, 0 failed"; exit 0; }; exit 0')).toEqual({
      status: 1,
      lastLine: '0 passed, 1 failed',
    })
  })

  it("keeps the runner's summary and exit status when it wrote one", () => {
    const npm = `[ "$1" = test ] && { echo "3 passed, 1 failed"; echo "3 passed, 1 failed" > test-results/summary.txt; exit 1; }; exit 0`
    expect(ciRun(npm)).toEqual({ status: 1, lastLine: '3 passed, 1 failed' })
  })
})

describe('retry policy', () => {
  // A blanket retry would turn a flaky test green without a trace; retries, if ever needed, belong to
  // process-spawning integration tests only, and the summary then names them as flaky.
  it('neither vitest nor playwright retries tests globally', async () => {
    const vitestConfig = (await import('../vitest.config.ts')).default as {
      test?: { retry?: number; projects?: Array<{ test?: { retry?: number } }> }
    }
    expect(vitestConfig.test?.retry ?? 0).toBe(0)
    for (const project of vitestConfig.test?.projects ?? []) expect(project.test?.retry ?? 0).toBe(0)
    const playwrightConfig = (await import('../playwright.config.ts')).default as { retries?: number }
    expect(playwrightConfig.retries ?? 0).toBe(0)
  })
})
