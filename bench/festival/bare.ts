// Baseline for cold start: a bare Node process with the same loaders (tsx, polyfills), doing nothing.
process.stdout.write(`${JSON.stringify({ event: 'ready', readyMs: performance.now() })}\n`)
process.stdin.on('data', () => process.exit(0))
