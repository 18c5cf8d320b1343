// One error class per failure kind, each with a stable `name` (js-libp2p style).

/** A document does not have the shape of a Lakou document of the expected kind. */
export class MalformedDocumentError extends Error {
  override name = 'MalformedDocumentError'
}

/** A ledger page writer was used for a device or venue it does not belong to, or after stop(). */
export class PageWriterClosedError extends Error {
  override name = 'PageWriterClosedError'
}

/** A record handed to the writer is not bytes, or is too large for one page entry. */
export class InvalidRecordBytesError extends Error {
  override name = 'InvalidRecordBytesError'
}

/** A document the directory names could not be found locally or from any peer in time. */
export class DocumentUnavailableError extends Error {
  override name = 'DocumentUnavailableError'
}

/** The index checkpoint on disk cannot be read (corrupt or from another format version). */
export class CheckpointUnreadableError extends Error {
  override name = 'CheckpointUnreadableError'
}
