// Keyboard for a row of role="tab" buttons (WAI-ARIA tabs pattern): only the selected tab is in the Tab
// order; Left/Right (wrapping), Home and End select a neighbour and move the focus to it.

/** The id of the tab a key selects from `current`, or undefined when the key is not a tab key. */
export function tabFromKey(key: string, ids: readonly string[], current: string): string | undefined {
  const i = ids.indexOf(current)
  if (ids.length === 0) return undefined
  if (key === 'ArrowRight') return ids[(i + 1) % ids.length]
  if (key === 'ArrowLeft') return ids[(i - 1 + ids.length) % ids.length]
  if (key === 'Home') return ids[0]
  if (key === 'End') return ids[ids.length - 1]
  return undefined
}

/** keydown handler for the tablist: selects the next tab and focuses its button (`data-tab` = its id). */
export function tabKeydown(ids: readonly string[], current: string, select: (id: string) => void) {
  return (event: KeyboardEvent): void => {
    const next = tabFromKey(event.key, ids, current)
    if (next === undefined) return
    event.preventDefault()
    select(next)
    const list = event.currentTarget as HTMLElement
    queueMicrotask(() => list.querySelector<HTMLElement>(`[data-tab="${CSS.escape(next)}"]`)?.focus())
  }
}
