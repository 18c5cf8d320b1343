// A PeerAuthenticator from a fixed table of device public keys (development, tests, and small setups that
// pin their peers). The federation's certificate checks plug in through the same interface.
import type { PeerAuthenticator, PeerPrincipal, PresentedCredentials } from './access.ts'
import { HandshakeRejectedError } from './errors.ts'

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

export class StaticPeerAuthenticator implements PeerAuthenticator {
  private readonly table = new Map<string, PeerPrincipal>()

  constructor(principals: PeerPrincipal[] = []) {
    for (const p of principals) this.allow(p)
  }

  allow(principal: PeerPrincipal): void {
    this.table.set(hex(principal.devicePublicKey), principal)
  }

  async authenticate(presented: PresentedCredentials): Promise<PeerPrincipal> {
    const principal = this.table.get(hex(presented.devicePublicKey))
    if (!principal) throw new HandshakeRejectedError('device key is not certified')
    return principal
  }
}
