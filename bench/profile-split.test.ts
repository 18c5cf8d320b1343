// profile-split: a sample goes to the deepest cause on its stack, the transport only when no cause owns it,
// and only samples inside the window count.
import { describe, expect, it } from 'vitest'
import { splitProfile } from './profile-split.ts'

const url = (path: string) => `file:///work/main/${path}`
const frame = (functionName: string, path: string) => ({ functionName, url: url(path), lineNumber: 0 })

// root -> socket read (libp2p) -> noise decrypt: transport (no cause on the stack)
//      -> adapter send -> noise encrypt: doc sync (the cause above the libp2p frame)
//      -> hello accept (access.ts): hello; -> adapter code called from it: doc sync (the deepest cause)
//      -> (garbage collector), (idle), a till-proc frame: gc, idle, other
const nodes = [
  { id: 1, callFrame: frame('(root)', ''), children: [2, 4, 6, 8, 9, 10] },
  { id: 2, callFrame: frame('onData', 'node_modules/@libp2p/tcp/dist/src/socket-to-conn.js'), children: [3] },
  { id: 3, callFrame: frame('decrypt', 'node_modules/@libp2p/noise/dist/src/crypto.js') },
  { id: 4, callFrame: frame('send', 'sync/net/libp2p-network-adapter.ts'), children: [5] },
  { id: 5, callFrame: frame('encrypt', 'node_modules/@libp2p/noise/dist/src/crypto.js') },
  { id: 6, callFrame: frame('accept', 'sync/net/access.ts'), children: [7] },
  { id: 7, callFrame: frame('handle', 'sync/net/libp2p-network-adapter.ts') },
  { id: 8, callFrame: frame('(garbage collector)', '') },
  { id: 9, callFrame: frame('(idle)', '') },
  { id: 10, callFrame: frame('handle', 'bench/festival/till-proc.ts') },
]

describe('splitProfile', () => {
  it('charges each sample to the deepest cause on its stack, else transport, gc, idle or other', () => {
    // one sample per leaf, 1 ms apart (timeDeltas in us); sample i lands at startTime + (i + 1) ms
    const samples = [3, 5, 7, 8, 9, 10, 6]
    const profile = { nodes, startTime: 0, samples, timeDeltas: samples.map(() => 1000) }
    expect(splitProfile(profile)).toEqual({
      hello: 1,
      'doc sync': 2,
      'push + gossip': 0,
      transport: 1,
      gc: 1,
      idle: 1,
      other: 1,
    })
  })

  it('counts only the samples inside the window', () => {
    const samples = [3, 3, 5, 5]
    const profile = { nodes, startTime: 0, samples, timeDeltas: samples.map(() => 1000) }
    // samples at 1, 2, 3, 4 ms: the window 2.5-4 ms holds the two doc sync samples
    const split = splitProfile(profile, 2500, 4000)
    expect(split.transport).toBe(0)
    expect(split['doc sync']).toBe(2)
  })
})
