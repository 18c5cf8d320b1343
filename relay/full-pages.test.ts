import type { DocumentId } from '@automerge/automerge-repo'
import { describe, expect, it } from 'vitest'
import { fullByDirectory } from './full-pages.ts'

const page = (n: number) => ({ kind: 'ledger-page' as const, venueId: 'v', deviceId: 'd', page: n })
const venue = { pages: { d: ['automerge:p0', 'automerge:p1', 'automerge:p2'], e: ['automerge:q0'] } }
const id = (s: string) => s as DocumentId

describe('fullByDirectory', () => {
  it('says full only for a page its device has a later page after', () => {
    expect(fullByDirectory(id('p0'), page(0), venue)).toBe(true)
    expect(fullByDirectory(id('p1'), page(1), venue)).toBe(true)
    // the open page, and a device's only page
    expect(fullByDirectory(id('p2'), page(2), venue)).toBe(false)
    expect(fullByDirectory(id('q0'), { ...page(0), deviceId: 'e' }, venue)).toBe(false)
  })

  it('refuses a document the directory does not name at that place, or an unknown venue or device', () => {
    expect(fullByDirectory(id('p1'), page(0), venue)).toBe(false)
    expect(fullByDirectory(id('p0'), { ...page(0), deviceId: 'x' }, venue)).toBe(false)
    expect(fullByDirectory(id('p0'), page(0), undefined)).toBe(false)
    expect(fullByDirectory(id('p0'), page(0), { pages: {} })).toBe(false)
  })
})
