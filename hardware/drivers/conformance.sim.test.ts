import { SimRig } from '../testing/rigs.ts'
import { runCardDriverConformance } from './conformance.ts'

runCardDriverConformance(() => new SimRig())
