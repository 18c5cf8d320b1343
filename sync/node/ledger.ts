// The one place sync/node imports the ledger from (contract: other parts import only ledger/mod.ts).
export * from '../../ledger/mod.ts'
