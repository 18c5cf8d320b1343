import { defineConfig } from '@playwright/test'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './scripts/chromium.ts'

// End-to-end tests in Debian's chromium (never `npx playwright install`). Each spec starts its own demo
// nodes on free ports with fresh data folders (app/e2e/nodes.ts), so no webServer block is needed.
// scripts/test.mjs reads the JSON report through PLAYWRIGHT_JSON_OUTPUT_NAME.
export default defineConfig({
  testDir: 'app/e2e',
  globalSetup: './app/e2e/global-setup.ts',
  outputDir: 'test-results/e2e',
  timeout: 120_000,
  // Every UI step waits on its node (WebSocket call, signed record, fsync): the 5 s default is short on a
  // loaded 2-core CI machine. Only how long a condition may take to appear changes, never the condition.
  expect: { timeout: 15_000 },
  workers: 1,
  reporter: [['list'], ['json']],
  use: {
    screenshot: 'on',
    trace: 'retain-on-failure',
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      executablePath: CHROMIUM_PATH,
      args: CHROMIUM_ARGS,
    },
  },
})
