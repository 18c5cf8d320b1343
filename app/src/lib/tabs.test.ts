import { describe, expect, it } from 'vitest'
import { tabFromKey } from './tabs.ts'

describe('tabFromKey', () => {
  const ids = ['bar', 'kitchen', 'cups']
  it('moves right and left, wrapping at both ends', () => {
    expect(tabFromKey('ArrowRight', ids, 'bar')).toBe('kitchen')
    expect(tabFromKey('ArrowRight', ids, 'cups')).toBe('bar')
    expect(tabFromKey('ArrowLeft', ids, 'bar')).toBe('cups')
    expect(tabFromKey('ArrowLeft', ids, 'kitchen')).toBe('bar')
  })
  it('jumps to the ends with Home and End', () => {
    expect(tabFromKey('Home', ids, 'cups')).toBe('bar')
    expect(tabFromKey('End', ids, 'bar')).toBe('cups')
  })
  it('ignores other keys and empty tab rows', () => {
    expect(tabFromKey('Enter', ids, 'bar')).toBeUndefined()
    expect(tabFromKey('ArrowRight', [], '')).toBeUndefined()
  })
})
