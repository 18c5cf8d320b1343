// A virtual card kept in a JSON file, so it keeps its memory (tag) or its key and counter (signing) across
// presentations and processes: the signing card's counter is written before each signature leaves it.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { fromHex, toHex } from '../apdu.ts'
import { VirtualNtag215 } from './ntag215.ts'
import { newSigningCardState, type SigningCardState, VirtualSigningCard } from './signing-applet.ts'

type CardFile =
  | { kind: 'tag'; image: string }
  | { kind: 'signing'; seed: string; uid: string; counter: number }

function save(path: string, content: CardFile): void {
  // Write then rename: a crash never leaves a half-written card file.
  writeFileSync(`${path}.tmp`, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 })
  renameSync(`${path}.tmp`, path)
}

const signingFile = (s: SigningCardState): CardFile => ({
  kind: 'signing',
  seed: toHex(s.seed),
  uid: toHex(s.uid),
  counter: s.counter,
})

/** Loads the card in `path`, or creates a new card of `kind` there. */
export function openCardFile(
  path: string,
  kind: 'tag' | 'signing',
): { card: VirtualNtag215 | VirtualSigningCard; save(): void } {
  const existing = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as CardFile) : undefined
  if (existing && existing.kind !== kind)
    throw new Error(`${path} holds a ${existing.kind} card, not a ${kind} card`)
  if (kind === 'tag') {
    const card = new VirtualNtag215(existing?.kind === 'tag' ? { image: fromHex(existing.image) } : {})
    const persist = () => save(path, { kind: 'tag', image: toHex(card.image()) })
    if (!existing) persist()
    return { card, save: persist }
  }
  const state =
    existing?.kind === 'signing'
      ? { seed: fromHex(existing.seed), uid: fromHex(existing.uid), counter: existing.counter }
      : newSigningCardState()
  const card = new VirtualSigningCard({ state, persist: (s) => save(path, signingFile(s)) })
  const persist = () => save(path, signingFile(card.snapshot()))
  if (!existing) persist()
  return { card, save: persist }
}
