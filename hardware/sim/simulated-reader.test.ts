import { describe, expect, it } from 'vitest'
import { VirtualNtag215 } from '../cards/ntag215.ts'
import { VirtualSigningCard } from '../cards/signing-applet.ts'
import { CardRemovedError } from '../errors.ts'
import { SimulatedReader } from './simulated-reader.ts'

describe('simulated reader (demo tap buttons)', () => {
  it('emits the same typed events as the PC/SC service: attach, present, swap, remove, detach', async () => {
    const sim = new SimulatedReader({ readers: ['Till'] })
    const log: string[] = []
    sim.on('reader-attached', (e) => log.push(`attached ${e.reader}`))
    sim.on('reader-detached', (e) => log.push(`detached ${e.reader}`))
    sim.on('card-presented', (e) => log.push(`presented ${e.kind}`))
    sim.on('card-removed', () => log.push('removed'))
    await sim.start()
    const tag = new VirtualNtag215()
    const channel = await sim.present(tag, 'Till')
    expect(channel.uid).toEqual(tag.uid)
    expect(sim.cardIn('Till')).toBe(channel)
    await sim.present(new VirtualSigningCard(), 'Till') // swap without an explicit remove
    await sim.remove('Till')
    expect(sim.cardIn('Till')).toBeUndefined()
    await sim.stop()
    expect(log).toEqual([
      'attached Till',
      'presented tag',
      'removed',
      'presented signing',
      'removed',
      'detached Till',
    ])
    // the first card's channel is dead after the swap
    await expect(channel.transmit(Uint8Array.of(0xff, 0xca, 0, 0, 0))).rejects.toBeInstanceOf(
      CardRemovedError,
    )
  })

  it('refuses to present on a reader that does not exist', async () => {
    const sim = new SimulatedReader()
    await sim.start()
    await expect(sim.present(new VirtualNtag215(), 'nope')).rejects.toBeInstanceOf(RangeError)
    await sim.stop()
  })
})
