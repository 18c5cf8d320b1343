// The language switch: French first, English second; the choice is remembered on this device.
import { en } from './en.ts'
import { fr, type MessageKey } from './fr.ts'

export type Lang = 'fr' | 'en'
const catalogs: Record<Lang, Record<MessageKey, string>> = { fr, en }
const stored = typeof localStorage !== 'undefined' ? localStorage.getItem('lakou.lang') : null

export const i18n = $state({ lang: (stored === 'en' ? 'en' : 'fr') as Lang })

export function setLang(lang: Lang): void {
  i18n.lang = lang
  localStorage.setItem('lakou.lang', lang)
  document.documentElement.lang = lang
}

export function t(key: MessageKey, vars: Record<string, string | number> = {}): string {
  const text = catalogs[i18n.lang][key] ?? key
  return text.replace(/\{(\w+)\}/g, (_, name: string) => String(vars[name] ?? `{${name}}`))
}

/** Translates an error from the node by its stable name, falling back to its message. */
export function errorText(e: unknown): string {
  const name = e instanceof Error ? e.name : ''
  const message = e instanceof Error ? e.message : String(e)
  // Errors whose message is French from the node carry their English text in details.en.
  const details = (e as { details?: { en?: unknown } } | null)?.details
  const text = i18n.lang === 'en' && typeof details?.en === 'string' ? details.en : message
  const key = `error.${name}` as MessageKey
  return key in fr ? t(key, { message: text }) : t('error.generic', { message: text })
}

export function locale(): string {
  return i18n.lang === 'fr' ? 'fr-FR' : 'en-GB'
}
