// The command table. Parts add their command here with a lazy import so `lakou --help` stays fast.
import { registerCommand } from './cli.ts'

registerCommand('version', async () => ({
  summary: 'print the Lakou version',
  async run() {
    const { readFileSync } = await import('node:fs')
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
    console.log(`lakou ${pkg.version}`)
  },
}))

registerCommand('demo', async () => ({
  summary: 'start the demo venue: till, door, admin and member portal on localhost (--port, --data)',
  async run(args) {
    const { runDemo } = await import('../app/server/demo.ts')
    await runDemo(args)
  },
}))

registerCommand('relay', async () => (await import('../relay/command.ts')).relayCommand)

registerCommand('node', async () => (await import('../sync/node/commands.ts')).nodeCommand)
registerCommand('federation', async () => (await import('../sync/node/commands.ts')).federationCommand)
registerCommand('venue', async () => (await import('../sync/node/commands.ts')).venueCommand)
registerCommand('device', async () => (await import('../sync/node/commands.ts')).deviceCommand)

registerCommand('vcard', async () => (await import('../hardware/vpcd/vcard-command.ts')).vcardCommand)
