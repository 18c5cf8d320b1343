// Builds the app once for every spec (the demo nodes then start with --no-build).
import { ensureAppBuilt } from '../server/build-app.ts'

export default function globalSetup(): void {
  ensureAppBuilt()
}
