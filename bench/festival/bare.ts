// Baseline for cold start: a bare Node process started the same way (node sync/node/run-bundled.mjs, its polyfill), doing nothing.
process.stdout.write(`${JSON.stringify({ event: 'ready', readyMs: performance.now() })}\n`)
process.stdin.on('data', () => process.exit(0))
