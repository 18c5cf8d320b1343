// Real-stack test files call this first: a clear failure when pcscd is unavailable (not root, apt missing),
// instead of timeouts. The rest of the file is skipped then.
import { inject, it } from 'vitest'

export function pcscdAvailable(): boolean {
  const status = inject('pcscd')
  if (status?.ok) return true
  it('needs pcscd (installed and started by the hardware globalSetup)', () => {
    throw new Error(
      status?.message ?? 'pcscd status unknown: run these tests through the "hardware" vitest project',
    )
  })
  return false
}
