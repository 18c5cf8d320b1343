// Which reader service a node uses: the PC/SC one when nfc-pcsc loads and pcscd is installed, otherwise
// the in-process simulated reader (the demo, machines without libpcsclite-dev).
import { existsSync } from 'node:fs'
import { loadNfcPcsc, NfcReaderService } from './nfc/reader-service.ts'
import { PCSCD_BINARY } from './pcscd/pcscd.ts'
import { SimulatedReader } from './sim/simulated-reader.ts'
import type { CardReaderService } from './transport.ts'

export type ReaderMode = 'auto' | 'pcsc' | 'simulated'

export interface CreatedReaderService {
  mode: 'pcsc' | 'simulated'
  service: CardReaderService
  /** The simulated reader, for the app's tap buttons (undefined in pcsc mode). */
  simulated: SimulatedReader | undefined
  /** Why auto mode chose the simulated reader. */
  reason?: string
}

export async function createReaderService(mode: ReaderMode = 'auto'): Promise<CreatedReaderService> {
  if (mode === 'simulated') {
    const simulated = new SimulatedReader()
    return { mode: 'simulated', service: simulated, simulated }
  }
  if (mode === 'pcsc') return { mode: 'pcsc', service: new NfcReaderService(), simulated: undefined }
  const nfc = await loadNfcPcsc()
  const reason = !nfc
    ? 'nfc-pcsc is not installed'
    : !existsSync(PCSCD_BINARY)
      ? 'pcscd is not installed'
      : undefined
  if (reason) {
    const simulated = new SimulatedReader()
    return { mode: 'simulated', service: simulated, simulated, reason }
  }
  return { mode: 'pcsc', service: new NfcReaderService({ nfcConstructor: nfc! }), simulated: undefined }
}
