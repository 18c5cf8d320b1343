// Node-level failures, each with a stable name.

/** The data dir has no node.json (not set up), or it does not parse. */
export class NodeConfigError extends Error {
  override name = 'NodeConfigError'
}

/** A key file is missing, unreadable, of the wrong size, or readable by others. */
export class KeyFileError extends Error {
  override name = 'KeyFileError'
}

/** appendRecord was called on a node that is not started, or that has no device certificate. */
export class NodeNotReadyError extends Error {
  override name = 'NodeNotReadyError'
}
