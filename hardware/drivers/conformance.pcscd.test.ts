import { describe } from 'vitest'
import { pcscdAvailable } from '../testing/require-pcscd.ts'
import { PcscdRig } from '../testing/rigs.ts'
import { runCardDriverConformance } from './conformance.ts'

if (pcscdAvailable()) runCardDriverConformance(() => new PcscdRig())
else describe.skip('card drivers over pcscd', () => {})
