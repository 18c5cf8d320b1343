// vitest globalSetup of the hardware project: starts pcscd (or reuses a running one) before the hardware
// tests and stops it afterwards. When pcscd cannot be installed or started, the hardware tests get the
// reason through inject('pcscd') and fail with it instead of hanging.
import type { TestProject } from 'vitest/node'
import { loadNfcPcsc } from '../nfc/reader-service.ts'
import { acquireVpcdLock, type PcscdHandle, startPcscd, stopRestartedPcscd } from './pcscd.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** pid: the pcscd this test run started (undefined when an already running one was reused). */
    pcscd: { ok: boolean; message: string; pid?: number | undefined }
  }
}

let handle: PcscdHandle | undefined
let release: (() => void) | undefined

export async function setup(project: TestProject): Promise<void> {
  if (!(await loadNfcPcsc())) {
    const message =
      'nfc-pcsc (optional dependency) is not installed or its native addon did not build: install libpcsclite-dev, then npm install --include=optional'
    console.error(`hardware tests: ${message}`)
    project.provide('pcscd', { ok: false, message })
    return
  }
  try {
    // Another test run or the tap bench may be using the two virtual readers: wait for them.
    release = await acquireVpcdLock()
    handle = await startPcscd()
    project.provide('pcscd', {
      ok: true,
      message: handle.started ? `started pcscd ${handle.pid}` : 'reused pcscd',
      pid: handle.started ? handle.pid : undefined,
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
  // A pcscd restart test replaces our daemon with one of its own and leaves its pid here.
  stopRestartedPcscd()
  release?.()
  release = undefined
}
