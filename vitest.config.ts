import { defineConfig } from 'vitest/config'

// One convention: tests live next to what they test, as *.test.ts.
// NFC hardware tests share pcscd and its two virtual PC/SC readers, so they form their own project that
// runs files one at a time, with a globalSetup that starts pcscd and stops it afterwards (see hardware/README.md).
const nfcTests = ['hardware/*.test.ts', 'hardware/{cards,drivers,nfc,pcscd,sim,testing,vpcd}/**/*.test.ts']
const shared = {
  exclude: ['node_modules/**', 'app/e2e/**'],
  setupFiles: ['./sync/polyfills.ts'],
  testTimeout: 30_000,
  hookTimeout: 60_000,
  pool: 'forks' as const,
}

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          ...shared,
          name: 'main',
          include: ['{ledger,sync,hardware,relay,app,scripts,bench}/**/*.test.ts'],
          exclude: [...shared.exclude, ...nfcTests],
        },
      },
      {
        test: {
          ...shared,
          name: 'hardware',
          include: nfcTests,
          fileParallelism: false,
          globalSetup: ['./hardware/pcscd/global-setup.ts'],
        },
      },
    ],
  },
})
