// Command dispatch for `lakou`. Each part registers its own commands; this file only routes.
export interface Command {
  summary: string
  run(args: string[]): Promise<void>
}

const commands: Record<string, () => Promise<Command>> = {}

export function registerCommand(name: string, load: () => Promise<Command>): void {
  commands[name] = load
}

export async function main(argv: string[]): Promise<void> {
  await import('./commands.ts')
  const [name, ...args] = argv
  const load = name ? commands[name] : undefined
  if (!load) {
    console.log('usage: lakou <command> [options]\n')
    for (const [n, l] of Object.entries(commands)) console.log(`  ${n.padEnd(16)} ${(await l()).summary}`)
    process.exitCode = name ? 2 : 0
    return
  }
  await (await load()).run(args)
}
