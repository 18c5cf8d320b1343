// Entry of `lakou node` when run from its bundle (scripts/lakou.mjs -> sync/node/run-bundled.mjs): the same
// command as through the CLI dispatch, without tsx and without loading every other command's modules.
import { nodeCommand } from './commands.ts'

await nodeCommand.run(process.argv.slice(2))
