// The README's examples are tested: every ```ts block, in order, in one async scope.
import { readFileSync } from 'node:fs'
import ts from 'typescript'
import { expect, it } from 'vitest'
import * as mod from './mod.ts'

it('ledger/README.md examples run', async () => {
  const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8')
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!)
  expect(blocks.length).toBeGreaterThanOrEqual(5)
  const body = blocks
    .join('\n')
    .split('\n')
    .filter((line) => !/^import .* from '\.\/mod\.ts'$/.test(line))
    .join('\n')
  const code = ts.transpileModule(body, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  }).outputText
  const checks: boolean[] = []
  const assert = (ok: unknown) => {
    checks.push(Boolean(ok))
    if (!ok) throw new Error(`README assertion ${checks.length} failed`)
  }
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor
  const names = Object.keys(mod)
  await new AsyncFunction('assert', ...names, code)(
    assert,
    ...names.map((n) => (mod as Record<string, unknown>)[n]),
  )
  expect(checks.length).toBeGreaterThanOrEqual(12)
})
