// The child side of the JSON-lines protocol that sync/test/json-lines-process.ts drives: one JSON object
// per line each way. Commands `{id, cmd, ...}` are answered `{id, ok: true, ...result}` or
// `{id, ok: false, error}`; events are written with `emit` (the ready line first).
import { createInterface } from 'node:readline'

export const emit = (o: unknown): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`)
}

/**
 * Serves commands read from stdin with `handle`. `onClose` runs when stdin closes (the parent is gone:
 * a child must not linger as an orphan holding ports and CPU).
 */
export function serveCommands(
  handle: (command: Record<string, unknown>) => Promise<Record<string, unknown>>,
  onClose?: () => void,
): void {
  const lines = createInterface({ input: process.stdin })
  if (onClose) lines.on('close', onClose)
  lines.on('line', (line) => {
    let c: Record<string, unknown>
    try {
      c = JSON.parse(line)
    } catch {
      return
    }
    handle(c).then(
      (r) => emit({ id: c.id, ok: true, ...r }),
      (e) => emit({ id: c.id, ok: false, error: String((e as Error).message) }),
    )
  })
}
