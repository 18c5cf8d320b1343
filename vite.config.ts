import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defineConfig } from 'vite'

// The Svelte app lives in app/ and is built to dist/app, which `lakou node` serves.
export default defineConfig({
  root: 'app',
  plugins: [svelte()],
  build: { outDir: '../dist/app', emptyOutDir: true },
})
