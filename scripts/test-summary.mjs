// Counts of the test runners' JSON reports for `npm test` (scripts/test.mjs): passed, failed, the names of
// failed and flaky tests, and runner-level problems (each counted as one failure). Plain JS: it runs without tsx.

/**
 * @typedef {{ passed: number, failed: number, failedNames: string[], flakyNames: string[], problems: string[] }} Summary
 */

/** Vitest's json reporter. `status` is its exit status: non-zero with no failed test means unhandled errors. */
export function summarizeVitest(report, status, root = '') {
  /** @type {Summary} */
  const s = {
    passed: report.numPassedTests,
    failed: report.numFailedTests,
    failedNames: [],
    flakyNames: [],
    problems: [],
  }
  for (const file of report.testResults ?? []) {
    const name = root && file.name.startsWith(root) ? file.name.slice(root.length) : file.name
    const failedTests = file.assertionResults.filter((t) => t.status === 'failed')
    for (const t of failedTests) s.failedNames.push(`${name} › ${t.fullName}`)
    // A file that failed with no failed test: it did not load, or a beforeAll/afterAll hook threw (its tests
    // are then reported skipped). One failure each, or CI would pass a suite that never ran.
    if (file.status === 'failed' && failedTests.length === 0) {
      s.failed += 1
      const why = String(file.message ?? '').split('\n')[0] || 'a hook failed or the file did not run'
      s.failedNames.push(`${name} (failed outside its tests: ${why})`)
    }
  }
  if (status !== 0 && s.failed === 0)
    s.problems.push(
      `vitest exited ${status} with no failed test in its report (unhandled errors: see its output)`,
    )
  return s
}

/** Playwright's json reporter; a test that passed only on a retry is `flaky`: counted passed, and named. */
export function summarizePlaywright(report, status) {
  const stats = report.stats ?? {}
  /** @type {Summary} */
  const s = {
    passed: (stats.expected ?? 0) + (stats.flaky ?? 0),
    failed: stats.unexpected ?? 0,
    failedNames: [],
    flakyNames: [],
    problems: [],
  }
  const walk = (suite, titles) => {
    for (const spec of suite.specs ?? []) {
      const name = `${spec.file} › ${[...titles, spec.title].join(' › ')}`
      for (const t of spec.tests ?? []) {
        if (t.status === 'flaky') s.flakyNames.push(name)
        if (t.status === 'unexpected') s.failedNames.push(name)
      }
    }
    for (const child of suite.suites ?? []) walk(child, [...titles, child.title])
  }
  for (const suite of report.suites ?? []) walk(suite, [])
  // Errors outside any test (global setup, a spec that does not load) fail the run without a failed test.
  for (const e of report.errors ?? []) s.problems.push(`playwright: ${String(e.message ?? e).split('\n')[0]}`)
  if (status !== 0 && s.failed === 0 && s.problems.length === 0)
    s.problems.push(`playwright exited ${status} with no failed test in its report`)
  return s
}

/** The lines `npm test` ends with: failed and flaky tests by name, problems, then `N passed, N failed`. */
export function summaryLines(summaries, problems = []) {
  const all = [...summaries]
  const passed = all.reduce((n, s) => n + s.passed, 0)
  const allProblems = [...all.flatMap((s) => s.problems), ...problems]
  const failed = all.reduce((n, s) => n + s.failed, 0) + allProblems.length
  return {
    failed,
    lines: [
      ...all.flatMap((s) => s.failedNames.map((n) => `failed: ${n}`)),
      ...all.flatMap((s) => s.flakyNames.map((n) => `flaky (passed on a retry): ${n}`)),
      ...allProblems.map((p) => `test: ${p}`),
      `${passed} passed, ${failed} failed`,
    ],
  }
}
