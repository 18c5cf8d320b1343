// vitest globalSetup of the hardware project: starts pcscd (or reuses a running one) before the hardware
// tests and stops it afterwards. When pcscd cannot be installed or started, the hardware tests get the
// reason through inject('pcscd') and fail with it instead of hanging.
import type { TestProject } from 'vitest/node'
import { type PcscdHandle, startPcscd } from './pcscd.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    pcscd: { ok: boolean; message: string }
  }
}

let handle: PcscdHandle | undefined

export async function setup(project: TestProject): Promise<void> {
  try {
    handle = await startPcscd()
    project.provide('pcscd', {
      ok: true,
      message: handle.started ? `started pcscd ${handle.pid}` : 'reused pcscd',
    })
  } catch (err) {
    const message = `pcscd unavailable: ${(err as Error).message}`
    console.error(`hardware tests: ${message}`)
    project.provide('pcscd', { ok: false, message })
  }
}

export async function teardown(): Promise<void> {
  await handle?.stop()
  handle = undefined
}
