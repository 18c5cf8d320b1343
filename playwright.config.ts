import { defineConfig } from '@playwright/test'

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
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
})
