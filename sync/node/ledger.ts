// The one place sync/node imports the ledger from. Contract: other parts import only ledger/mod.ts; until
// the ledger engineer's mod.ts lands this re-exports the same modules it will export.
export * from '../../ledger/bytes.ts'
export * from '../../ledger/codec.ts'
export * from '../../ledger/crypto.ts'
export * from '../../ledger/sign.ts'
export type * from '../../ledger/types.ts'
