import { ACR122U_LIMITS } from '../cards/ntag215.ts'
import { SimRig } from '../testing/rigs.ts'
import { runCardDriverConformance } from './conformance.ts'

runCardDriverConformance(() => new SimRig())
// The same suite with a strict ACR122U (16-byte reads, 4-byte page writes): correctness does not depend
// on multi-page commands, only the APDU count does.
runCardDriverConformance(() => new SimRig(), { limits: ACR122U_LIMITS })
