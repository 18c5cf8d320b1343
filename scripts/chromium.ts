// Debian's chromium as every browser test and bench launches it (never a browser downloaded by Playwright).
// The flags keep it quiet on a closed network: without the background-networking ones it opens many
// connections that this machine's network refuses, and it looks up Google's hosts at every start.
export const CHROMIUM_PATH = '/usr/bin/chromium'

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
