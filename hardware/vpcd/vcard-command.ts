// `lakou vcard <tag|signing> <card.json> [--reader 0|1]`: puts a virtual card (kept in a JSON file) on one
// of pcscd's vpcd readers until Ctrl-C, for trying a node with "cards" on a machine with pcscd and
// vsmartcard-vpcd. Never install vsmartcard-vpcd on a real till.
import type { Command } from '../../scripts/cli.ts'
import { toHex } from '../apdu.ts'
import { openCardFile } from '../cards/card-file.ts'
import { isVpcdReady } from '../pcscd/pcscd.ts'
import { VPCD_PORTS, VpcdCardConnection } from './vpcd-card.ts'

export const vcardCommand: Command = {
  summary: 'present a virtual tag or signing card (JSON file) on a pcscd vpcd reader (--reader 0|1)',
  async run(args) {
    const [kind, path] = args
    const readerIndex = Number(args[args.indexOf('--reader') + 1] ?? 0)
    if ((kind !== 'tag' && kind !== 'signing') || !path || !(readerIndex === 0 || readerIndex === 1)) {
      console.error('usage: lakou vcard <tag|signing> <card.json> [--reader 0|1]')
      process.exitCode = 2
      return
    }
    if (!isVpcdReady()) {
      console.error('vcard: pcscd with the vpcd readers is not running (ports 35963/35964)')
      process.exitCode = 1
      return
    }
    const { card, save } = openCardFile(path, kind)
    const connection = new VpcdCardConnection(card, { port: VPCD_PORTS[readerIndex] })
    await connection.insert()
    const id = 'publicKey' in card ? `key ${toHex(card.publicKey)}` : `uid ${toHex(card.uid)}`
    console.log(`vcard: ${kind} card ${id} on "Virtual PCD 00 0${readerIndex}"; Ctrl-C to remove it`)
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()))
    await connection.remove()
    save()
    console.log(`vcard: removed; state saved to ${path}`)
  },
}
