// Before anything is signed: would the ledger accept the till's next record? A signing card that signs a
// record the ledger then refuses has consumed its counter at a cardSeq the card chain never gets: every
// later record on that card is refused by the card (bricked). So the backend builds the exact record the
// device chain would sign, asks the index (LedgerIndex.preflight), and refuses with RecordRefusedError:
// nothing signed, nothing persisted, the card's counter and the device chain untouched.
import { cardKindOf, type LedgerIndex, type LedgerRuleError } from '../../ledger/mod.ts'
import { offlineCeiling } from '../../ledger/trust.ts'
import type { CardId, Hash, LedgerRecord, PublicKey, RecordBody } from '../../ledger/types.ts'
import { AppError, CardNotPresentError } from './errors.ts'

/**
 * The ledger would refuse this record (`details.rule`; `details.limit` and `details.asset` for a ceiling).
 * The message is French, the English text is in `details.en`; the UI translates by `details.rule`.
 */
export class RecordRefusedError extends AppError {
  override name = 'RecordRefusedError'
  declare readonly details: RecordRefusal
}

export interface RecordRefusal {
  rule: LedgerRuleError['rule']
  /** The ledger's own words (for logs and support). */
  ledger: string
  en: string
  limit?: number
  asset?: string
}

/** The record DeviceChainWriter.append(body) will sign next (same fields, same time). */
export function nextRecord(
  body: RecordBody,
  chain: { device: PublicKey; deviceSeq: number; head: Hash; staff: CardId },
): LedgerRecord {
  return {
    ...body,
    device: chain.device,
    deviceSeq: chain.deviceSeq + 1,
    devicePrev: chain.head,
    time: body.time ?? Date.now(),
    staff: body.staff ?? chain.staff,
  } as LedgerRecord
}

/** Throws RecordRefusedError when the index would not accept `record` now. */
export function preflightOrThrow(index: LedgerIndex, record: LedgerRecord): void {
  const error = index.preflight(record)
  if (error) throw refusal(index, record, error)
}

function refusal(index: LedgerIndex, record: LedgerRecord, error: LedgerRuleError): RecordRefusedError {
  const base = { rule: error.rule, ledger: error.message }
  const say = (fr: string, en: string, extra: Partial<RecordRefusal> = {}) =>
    new RecordRefusedError(fr, { ...base, en, ...extra })
  switch (error.rule) {
    case 'offline-ceiling': {
      const card = 'chain' in record ? record.chain?.card : undefined
      const asset = 'asset' in record ? record.asset : undefined
      if (!card || !asset) break
      const limit = offlineCeiling(index.trustState(), cardKindOf(card), record.time)
      const fr = money(index, asset, limit, 'fr-FR')
      const en = money(index, asset, limit, 'en-GB')
      return say(
        `Plafond hors ligne dépassé : ${fr} au plus sur cette carte`,
        `Offline ceiling exceeded: at most ${en} on this card`,
        { limit, asset },
      )
    }
    case 'floor':
      return say('Solde insuffisant sur cette carte', 'Insufficient balance on this card')
    case 'refund':
      return say(
        'Remboursement refusé : au-delà du solde remboursable',
        'Refund refused: above the refundable balance',
      )
    case 'card-chain':
      return say(
        'Historique de la carte incomplet sur ce poste : réessayez après la synchronisation',
        'This till does not have the card’s latest records yet: try again after sync',
      )
    case 'unknown-asset':
      return say('Monnaie inconnue de ce poste', 'Asset unknown to this till')
    case 'device-role':
    case 'device-revoked':
    case 'device-validity':
    case 'device-not-certified':
      return say('Ce poste n’est pas autorisé à faire cette opération', 'This till may not do this operation')
  }
  return say(`Opération refusée par le registre (${error.rule})`, `Refused by the ledger (${error.rule})`)
}

/** A limit in the asset's own units: euro assets as currency, others with their decimals and id. */
function money(index: LedgerIndex, asset: string, minor: number, locale: string): string {
  const def = index.assetDefinitions().find((a) => a.asset === asset)
  const decimals = def?.decimals ?? 2
  const value = minor / 10 ** decimals
  if (def?.assetKind === 'euro')
    return new Intl.NumberFormat(locale, { style: 'currency', currency: 'EUR' }).format(value)
  const n = new Intl.NumberFormat(locale, {
    minimumFractionDigits: decimals,
    maximumFractionDigits: decimals,
  })
  return `${n.format(value)} ${asset}`
}

/**
 * The signing card refused the cardSeq the ledger expects next: its counter is ahead of the card's chain.
 * That happens when the card signed a record the till never got (card pulled between SIGN and its
 * answer) or that was never kept. The ledger's card chain must stay contiguous (what stops offline
 * double spending), so this card can no longer sign: staff replace it (card.replace moves its balance).
 */
export class CardCounterAheadError extends AppError {
  override name = 'CardCounterAheadError'
  declare readonly details: { cardSeq: number | undefined; en: string }
}

/**
 * Rethrows what a card did during signing as the till's typed errors: a counter refusal (applet or
 * emulated card) as CardCounterAheadError (`expectedSeq`: the cardSeq asked for, when the error does not
 * say), a card that left the field mid-command as CardNotPresentError (nothing was written; if the card had
 * already signed, its next use reports CardCounterAheadError); anything else as it is.
 */
export function rethrowCardError(e: unknown, expectedSeq?: number): never {
  const name = e instanceof Error ? e.name : ''
  if (name === 'CardRemovedError' || name === 'CardTornError')
    throw new CardNotPresentError('the card left the reader while signing: nothing was recorded', {
      en: 'The card left the reader while signing: nothing was recorded',
    })
  const isRuleRefusal = name === 'LedgerRuleError' && (e as { rule?: string }).rule === 'card-counter'
  if (name === 'CardSequenceRefusedError' || isRuleRefusal) {
    const cardSeq = (e as { cardSeq?: number }).cardSeq ?? expectedSeq
    throw new CardCounterAheadError(
      'Compteur de la carte en avance sur le registre (une signature n’est pas arrivée au poste) : elle ne peut plus payer, remplacez-la (son solde est transféré)',
      {
        cardSeq,
        en: 'Card counter ahead of the ledger (a signature never reached the till): it can no longer pay, replace it (its balance moves over)',
      },
    )
  }
  throw e
}
