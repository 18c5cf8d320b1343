import { InvalidPrintInputError } from './errors.ts'

export function requireText(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw new InvalidPrintInputError(`${what} must be non-empty text`)
  return value
}

export function requireInteger(
  value: unknown,
  what: string,
  opts: { nonZero?: boolean; min?: number } = {},
): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new InvalidPrintInputError(`${what} must be a safe integer, got ${String(value)}`)
  }
  if (opts.nonZero && value === 0) throw new InvalidPrintInputError(`${what} must not be zero`)
  if (opts.min !== undefined && value < opts.min)
    throw new InvalidPrintInputError(`${what} must be >= ${opts.min}`)
  return value
}

export function requireTime(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new InvalidPrintInputError(`${what} must be a time in ms`)
  return value
}
