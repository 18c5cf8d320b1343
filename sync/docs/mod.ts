// sync/docs public surface: the document layout, the page writer, the index feed, storage and status.
export * from './errors.ts'
export * from './index-feed.ts'
export * from './layout.ts'
export * from './page-writer.ts'
export * from './schema.ts'
