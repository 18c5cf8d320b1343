import { defineConfig } from 'vitest/config'

// One convention: tests live next to what they test, as *.test.ts.
// Hardware tests share two virtual PC/SC readers, so they run in one worker (see hardware/README.md).
export default defineConfig({
  test: {
    include: ['{ledger,sync,hardware,relay,app,scripts,bench}/**/*.test.ts'],
    exclude: ['node_modules/**', 'app/e2e/**'],
    setupFiles: ['./sync/polyfills.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
})
