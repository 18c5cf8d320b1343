import { defineConfig } from '@playwright/test'

// End-to-end tests in Debian's chromium (never `npx playwright install`). Each spec starts its own demo
// nodes on free ports with fresh data folders (app/e2e/nodes.ts), so no webServer block is needed.
// scripts/test.mjs reads the JSON report through PLAYWRIGHT_JSON_OUTPUT_NAME.
export default defineConfig({
  testDir: 'app/e2e',
  globalSetup: './app/e2e/global-setup.ts',
  outputDir: 'test-results/e2e',
  timeout: 120_000,
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
