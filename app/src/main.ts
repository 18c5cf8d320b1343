import { mount } from 'svelte'
import App from './App.svelte'
import './app.css'
import { i18n } from './i18n/i18n.svelte.ts'
import { startStore } from './lib/store.svelte.ts'

document.documentElement.lang = i18n.lang
startStore()
mount(App, { target: document.getElementById('app')! })

// The member portal works offline: the service worker caches the app shell and the last statement.
if ('serviceWorker' in navigator && !import.meta.env.DEV) {
  void navigator.serviceWorker.register('/sw.js').catch(() => undefined)
}
