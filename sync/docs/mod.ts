// sync/docs public surface (portable: Node and browsers). Node-only: ./durable-storage.ts.
export * from './errors.ts'
export * from './full-page.ts'
export * from './index-feed.ts'
export * from './layout.ts'
export * from './page-writer.ts'
export * from './push.ts'
export * from './schema.ts'
export * from './status.ts'
