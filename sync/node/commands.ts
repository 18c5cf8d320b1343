// `lakou node`, `lakou federation create`, `lakou venue admit`, `lakou device enroll`.
import type { Command } from '../../scripts/cli.ts'

function parse(args: string[]) {
  const values = (name: string) =>
    args.flatMap((a, i) => (a === name && args[i + 1] !== undefined ? [args[i + 1]!] : []))
  const value = (name: string) => values(name)[0]
  const flag = (name: string) => args.includes(name)
  const required = (name: string) => {
    const v = value(name)
    if (!v) {
      console.error(`missing ${name}`)
      process.exit(2)
    }
    return v
  }
  return { values, value, flag, required }
}

export const nodeCommand: Command = {
  summary:
    'run a venue node: lakou node --data DIR [--listen MULTIADDR]... [--relay MULTIADDR]... [--no-mdns]',
  async run(args) {
    const a = parse(args)
    const { createVenueNode } = await import('./venue-node.ts')
    const listen = a.values('--listen')
    const node = await createVenueNode({
      dataDir: a.required('--data'),
      ...(listen.length ? { listen } : {}),
      relays: a.values('--relay'),
      mdns: !a.flag('--no-mdns'),
    })
    // Signal handlers before the ready line: whoever waits for it may stop the node at once.
    let stopping = false
    const stop = () => {
      if (stopping) return
      stopping = true
      node.stop().then(
        () => process.exit(0),
        (e) => {
          console.error(`lakou node: stop failed: ${(e as Error).message}`)
          process.exit(1)
        },
      )
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
    node.on('peer:status', (s) =>
      console.log(JSON.stringify({ event: 'peer', peerId: s.peerId, connected: s.connected, via: s.via })),
    )
    console.log(JSON.stringify({ event: 'ready', peerId: node.peerId, addresses: node.addresses() }))
  },
}

export const federationCommand: Command = {
  summary: 'create a federation: lakou federation create --data DIR (federation key + federation doc)',
  async run(args) {
    const a = parse(args)
    if (args[0] !== 'create') {
      console.error('usage: lakou federation create --data DIR')
      process.exit(2)
    }
    const { createFederation } = await import('./setup.ts')
    console.log(JSON.stringify(await createFederation(a.required('--data'))))
  },
}

export const venueCommand: Command = {
  summary: 'admit a venue: lakou venue admit --federation FED_DIR --data VENUE_DIR --name NAME',
  async run(args) {
    const a = parse(args)
    if (args[0] !== 'admit') {
      console.error('usage: lakou venue admit --federation FED_DIR --data VENUE_DIR --name NAME')
      process.exit(2)
    }
    const { admitVenue } = await import('./setup.ts')
    console.log(
      JSON.stringify(
        await admitVenue(a.required('--federation'), a.required('--data'), a.required('--name')),
      ),
    )
  },
}

export const deviceCommand: Command = {
  summary:
    'enroll a device: lakou device enroll (--venue VENUE_DIR | --federation FED_DIR) --data DEVICE_DIR --roles cashier,door|relay',
  async run(args) {
    const a = parse(args)
    const issuer = a.value('--venue') ?? a.value('--federation')
    if (args[0] !== 'enroll' || !issuer) {
      console.error(
        'usage: lakou device enroll (--venue VENUE_DIR | --federation FED_DIR) --data DIR --roles ROLES',
      )
      process.exit(2)
    }
    const { enrollDevice } = await import('./setup.ts')
    const roles = (a.value('--roles') ?? 'cashier').split(',') as never
    const label = a.value('--label')
    const config = await enrollDevice(issuer, a.required('--data'), { roles, ...(label ? { label } : {}) })
    console.log(
      JSON.stringify({ venueId: config.venueId, roles: config.roles, federationUrl: config.federationUrl }),
    )
  },
}
