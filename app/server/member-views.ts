// Memberships, tickets and check-ins derived from valid records (never stored as truth). A ticket with
// check-ins from two devices is a double entry: each door allowed it offline, and sync reveals it.
import { toHex } from '../../ledger/bytes.ts'
import type { CheckIn, MembershipGrant, TicketIssue } from '../../ledger/types.ts'
import type { EventView, MembershipView, PlanView, TicketView } from '../shared/protocol.ts'
import type { ReportRecord } from './reports.ts'

export interface TicketState {
  issue: TicketIssue
  checkIns: { device: string; time: number }[]
}

export function tickets(records: ReportRecord[]): Map<string, TicketState> {
  const out = new Map<string, TicketState>()
  for (const { record } of records)
    if (record.kind === 'ticket-issue') out.set(record.ticket, { issue: record, checkIns: [] })
  for (const { record } of records) {
    if (record.kind !== 'check-in') continue
    const t = out.get((record as CheckIn).ticket)
    t?.checkIns.push({ device: toHex(record.device), time: record.time })
  }
  return out
}

/** Tickets entered through more than one door (device): evidence of a double entry after sync. */
export function doubleEntries(records: ReportRecord[], eventId: string): string[] {
  return [...tickets(records).values()]
    .filter((t) => t.issue.event === eventId && new Set(t.checkIns.map((c) => c.device)).size > 1)
    .map((t) => t.issue.ticket)
}

export function ticketView(
  t: TicketState,
  events: Pick<EventView, 'id' | 'name' | 'ticketTypes'>[],
): TicketView {
  const event = events.find((e) => e.id === t.issue.event)
  return {
    code: t.issue.ticket,
    eventId: t.issue.event,
    eventName: event?.name ?? t.issue.event,
    typeName: event?.ticketTypes.find((tt) => tt.id === t.issue.ticketType)?.name ?? t.issue.ticketType,
    used: t.checkIns.length > 0,
  }
}

export function memberships(
  records: ReportRecord[],
  cardHex: string,
  plans: PlanView[],
  now: number,
): MembershipView[] {
  const best = new Map<string, number>()
  for (const { record } of records) {
    if (record.kind !== 'membership-grant') continue
    const g = record as MembershipGrant
    if (toHex(g.card) !== cardHex || g.validFrom > now || g.validUntil < now) continue
    best.set(g.plan, Math.max(best.get(g.plan) ?? 0, g.validUntil))
  }
  return [...best].map(([planId, until]) => ({
    planId,
    name: plans.find((p) => p.id === planId)?.name ?? planId,
    validUntil: new Date(until).toISOString(),
  }))
}

export function checkedInCount(records: ReportRecord[], eventId: string): number {
  return [...tickets(records).values()].filter((t) => t.issue.event === eventId && t.checkIns.length > 0)
    .length
}
