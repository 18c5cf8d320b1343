// Test and bench helpers: set a federation up in temp dirs and run venue nodes as separate OS processes.
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { admitVenue, createFederation, enrollDevice } from '../node/setup.ts'
import { spawnJsonLinesProcess } from './json-lines-process.ts'

export interface Federation {
  root: string
  /** Data dir of each enrolled device, in order. */
  devices: string[]
  cleanup(): void
}

/** A federation with `venues` venues and `devicesPerVenue` cashier tills each, in a temp dir. */
export async function setupFederation(venues = 1, devicesPerVenue = 2): Promise<Federation> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lakou-fed-'))
  await createFederation(path.join(dir, 'federation'))
  const devices: string[] = []
  for (let v = 0; v < venues; v++) {
    const venueDir = path.join(dir, `venue${v}`)
    await admitVenue(path.join(dir, 'federation'), venueDir, `venue ${v}`)
    for (let d = 0; d < devicesPerVenue; d++) {
      const deviceDir = path.join(dir, `venue${v}-till${d}`)
      await enrollDevice(venueDir, deviceDir, { roles: ['cashier'] })
      devices.push(deviceDir)
    }
  }
  return { root: dir, devices, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

export interface NodeProcess {
  child: ChildProcess
  peerId: string
  addresses: string[]
  device: string
  dataDir: string
  /** ms spent in createVenueNode, and ms from process start to ready. */
  startMs: number
  uptimeMs: number
  /** Sends a command and resolves with its reply (rejects on ok: false). */
  send(cmd: Record<string, unknown>, timeoutMs?: number): Promise<Record<string, unknown>>
  /** Unsolicited events (ack, validated). */
  onEvent(fn: (e: Record<string, unknown>) => void): void
  exited: Promise<number | null>
  kill(signal?: NodeJS.Signals): void
}

export async function startNode(dataDir: string, extra: string[] = []): Promise<NodeProcess> {
  const proc = await spawnJsonLinesProcess('sync/test/node-proc.ts', ['--data', dataDir, ...extra], {
    label: 'node',
    sendTimeoutMs: 20_000,
  })
  const r = proc.ready
  return {
    child: proc.child,
    peerId: String(r.peerId),
    addresses: r.addresses as string[],
    device: String(r.device),
    dataDir,
    startMs: Number(r.startMs),
    uptimeMs: Number(r.uptimeMs),
    exited: proc.exited,
    onEvent: proc.onEvent,
    kill: (signal = 'SIGTERM') => proc.child.kill(signal),
    send: proc.send,
  }
}

/** Dials b from a and waits until both passed the handshake. */
export async function connect(a: NodeProcess, b: NodeProcess): Promise<void> {
  await a.send({ cmd: 'dial', addr: b.addresses[0], peerId: b.peerId })
}

export async function stopAll(nodes: NodeProcess[]): Promise<void> {
  await Promise.all(
    nodes.map(async (n) => {
      if (n.child.exitCode !== null || n.child.signalCode !== null) return
      await n.send({ cmd: 'stop' }, 10_000).catch(() => {})
      const t = setTimeout(() => n.kill('SIGKILL'), 3000)
      await n.exited
      clearTimeout(t)
    }),
  )
}

/** Polls until every node reports the same index digest (and at least `minSize` entries). */
export async function converged(nodes: NodeProcess[], minSize: number, timeoutMs = 30_000): Promise<number> {
  const t0 = Date.now()
  for (;;) {
    const stats = await Promise.all(nodes.map((n) => n.send({ cmd: 'stats' })))
    const digests = new Set(stats.map((s) => s.digest))
    if (digests.size === 1 && stats.every((s) => Number(s.size) >= minSize)) return Date.now() - t0
    if (Date.now() - t0 > timeoutMs) {
      throw new Error(
        `not converged: ${stats.map((s) => `${s.size}:${String(s.digest).slice(0, 8)}`).join(' ')}`,
      )
    }
    await new Promise((r) => setTimeout(r, 100))
  }
}
