// Test fixture (sync/node/repo-guard.test.ts): a process in which an automerge-repo wait for a document that
// never becomes available rejects with no one to catch it, the way DocSynchronizer.beginSync's does under
// load. The handle's timeout is 300 ms instead of the hard-coded 60 s so the test is quick: the rejection is
// automerge-repo's own (DocHandle.whenReady -> withTimeout). With --data the process runs a venue node
// (which installs the guard) and after the rejection appends a record, to show it still serves.
//   node sync/node/run-bundled.mjs sync/node/repo-guard-child.ts [--data DIR]
import { DocHandle, type DocumentId } from '@automerge/automerge-repo'
import { createVenueNode } from './venue-node.ts'

const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`)
const i = process.argv.indexOf('--data')
const dataDir = i >= 0 ? process.argv[i + 1] : undefined

const node = dataDir
  ? await createVenueNode({
      dataDir,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      mdns: false,
      log: (l) => out({ log: l }),
    })
  : undefined
out({ event: 'started' })

const never = new DocHandle('3nDZeSm8vY8Yt1jFGTzhTPdi4W5x' as DocumentId, () => undefined as never, {
  timeoutDelay: 300,
})
void never.whenReady() // as automerge-repo's own fire-and-forget waits do
await new Promise((r) => setTimeout(r, 800))

if (node) {
  const card = new Uint8Array(8)
  card[0] = 2
  const body = { kind: 'top-up', chain: { card, cardSeq: 1, cardPrev: new Uint8Array(32) }, asset: 'EUR' }
  const signed = await node.appendRecord({ ...body, amount: 100, method: 'cash' } as never)
  out({ event: 'appended', deviceSeq: signed.deviceSeq })
  await node.stop()
}
out({ event: 'done' })
