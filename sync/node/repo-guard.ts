// automerge-repo 2.5 waits for documents inside its own fire-and-forget code (DocSynchronizer.beginSync:
// `await handle.whenReady()` once a peer says it has the doc, called with `void`), and DocHandle.whenReady
// rejects after a hard-coded 60 s (`withTimeout: timed out after 60000ms`). Under load, or for a document a
// peer announced but never delivered, that rejection reaches no catch and Node 20 ends the process: a till
// died mid-festival. Nothing of ours awaits those promises, so they can only be caught at the process level.
// The guard logs and counts them (the document is found again later: the layout retries its finds, and the
// repo re-syncs it when the peer reconnects) and leaves every other unhandled rejection to Node's default.

/** automerge-repo's timeout errors (helpers/withTimeout.js, DocHandle.whenReady) and not-ready handles. */
export function isRepoWaitError(reason: unknown): boolean {
  if (!(reason instanceof Error)) return false
  if (reason.name === 'TimeoutError' && reason.message.startsWith('withTimeout:')) return true
  // DocHandle.doc() on a handle that is still loading, unavailable or unloaded.
  return reason.message === 'DocHandle is not ready'
}

export interface RepoGuard {
  /** automerge-repo waits that rejected with no one to catch them, since the guard was installed. */
  readonly swallowed: number
  release(): void
}

let installed: ((reason: unknown, promise: Promise<unknown>) => void) | undefined
let users = 0
let swallowed = 0
const loggers = new Set<{ log: (line: string) => void }>()

/**
 * Installs (once per process, shared by every node in it) the handler for automerge-repo's uncaught waits.
 * Any other unhandled rejection still ends the process as Node's default would, unless someone else (a
 * test runner) listens for them too.
 */
export function guardRepoRejections(log: (line: string) => void): RepoGuard {
  const entry = { log }
  loggers.add(entry)
  users++
  if (!installed) {
    installed = (reason) => {
      if (isRepoWaitError(reason)) {
        swallowed++
        const line = `lakou/node: automerge-repo wait failed with no one awaiting it (${(reason as Error).message}); still serving`
        for (const l of loggers) l.log(line)
        return
      }
      // Only listener: keep Node's default (print and exit) for everything else.
      if (process.listenerCount('unhandledRejection') === 1) throw reason
    }
    process.on('unhandledRejection', installed)
  }
  let released = false
  return {
    get swallowed() {
      return swallowed
    },
    release() {
      if (released) return
      released = true
      loggers.delete(entry)
      users--
      if (users === 0 && installed) {
        process.off('unhandledRejection', installed)
        installed = undefined
      }
    },
  }
}
