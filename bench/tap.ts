// `npm run bench -- tap [--json out.json] [--payments 30]`: payments through the real PC/SC stack (pcscd +
// vpcd + the project's virtual cards) on a tag card and on a signing card, each on a fresh tap (no cached
// card knowledge). Baselines measured in the same run: the raw APDU round trip through pcscd (the I/O
// floor), the same payments on the in-process simulated reader (no pcscd), and a strict ACR122U
// (16-byte reads, 4-byte writes) for the APDU count.
import '../sync/polyfills.ts'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getUidApdu } from '../hardware/apdu.ts'
import { ACR122U_LIMITS, VirtualNtag215 } from '../hardware/cards/ntag215.ts'
import { VirtualSigningCard } from '../hardware/cards/signing-applet.ts'
import { acquireVpcdLock, startPcscd } from '../hardware/pcscd/pcscd.ts'
import {
  createTillContext,
  issueTagCard,
  type PaymentResult,
  signingPayment,
  tagPayment,
} from '../hardware/testing/payments.ts'
import { type CardRig, PcscdRig, SimRig } from '../hardware/testing/rigs.ts'
import { type Bench, type BenchRow, numberArg } from './harness.ts'

const p50 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : Number.NaN
}
const round = (n: number) => Math.round(n * 1000) / 1000

interface Series {
  apdusPerPayment: number
  softwareMsP50: number
  totalMsP50: number
  ioMsP50: number
}

function summarise(results: PaymentResult[]): Series {
  return {
    apdusPerPayment: Math.max(...results.map((r) => r.apdus)),
    softwareMsP50: round(p50(results.map((r) => r.softwareMs))),
    totalMsP50: round(p50(results.map((r) => r.totalMs))),
    ioMsP50: round(p50(results.map((r) => r.ioMs))),
  }
}

async function payments(rig: CardRig, n: number, limits?: typeof ACR122U_LIMITS) {
  const ctx = await createTillContext(limits)
  const tagCard = new VirtualNtag215(limits ? { limits } : {})
  const signingCard = new VirtualSigningCard()
  // One presentation each; every payment acts as a fresh tap (new channel memo, full APDU sequence).
  const tagChannel = await rig.present(tagCard)
  await issueTagCard(ctx, tagChannel)
  const tag: PaymentResult[] = []
  for (let i = 0; i < n; i++) tag.push(await tagPayment(ctx, tagChannel, 250))
  const signingChannel = await rig.present(signingCard)
  const signing: PaymentResult[] = []
  for (let i = 0; i < n; i++) signing.push(await signingPayment(ctx, signingChannel, 250))
  await rig.remove()
  return { tag: summarise(tag), signing: summarise(signing) }
}

interface QuickackRun {
  tag: Series
  signing: Series
  baseline: { apduRoundTripMsP50: number }
}

/**
 * The same bench inside scripts/pcscd-netns.sh (private pcscd, loopback with quickack): shows what the
 * ~45 ms per APDU of stock loopback is made of. Root only; undefined when it cannot run.
 */
function runWithQuickack(n: number): QuickackRun | undefined {
  if (process.env.LAKOU_IN_NETNS || process.getuid?.() !== 0) return undefined
  const script = new URL('../scripts/pcscd-netns.sh', import.meta.url).pathname
  const dir = mkdtempSync(join(tmpdir(), 'lakou-tap-'))
  const out = join(dir, 'quickack.json')
  try {
    const bench = new URL('./run.ts', import.meta.url).pathname
    const r = spawnSync(
      script,
      [
        'env',
        'LAKOU_IN_NETNS=1',
        process.execPath,
        '--import',
        'tsx',
        bench,
        'tap',
        '--payments',
        String(n),
        '--json',
        out,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 },
    )
    if (r.status !== 0 || !existsSync(out)) return undefined
    return JSON.parse(readFileSync(out, 'utf8')) as QuickackRun
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export const run: Bench = async ({ args }) => {
  const n = numberArg(args, '--payments', 30)
  // Inside scripts/pcscd-netns.sh the pcscd is private: no one to share the readers with.
  const release = process.env.LAKOU_IN_NETNS ? () => {} : await acquireVpcdLock()
  const pcscd = await startPcscd()
  try {
    // I/O floor: the raw GET UID round trip through nfc-pcsc -> pcscd -> vpcd -> virtual card.
    const rig = new PcscdRig()
    await rig.start()
    const channel = await rig.present(new VirtualNtag215())
    const rtt: number[] = []
    for (let i = 0; i < Math.max(10, n); i++) {
      const t = performance.now()
      await channel.transmit(getUidApdu())
      rtt.push(performance.now() - t)
    }
    const apduRttMsP50 = round(p50(rtt))
    const real = await payments(rig, n)
    await rig.stop()

    const sim = new SimRig()
    await sim.start()
    const simulated = await payments(sim, n)
    const strict = await payments(sim, Math.min(n, 5), ACR122U_LIMITS)
    await sim.stop()

    const quickack = args.includes('--no-quickack') ? undefined : runWithQuickack(n)
    const json = {
      tag: real.tag,
      signing: real.signing,
      baseline: {
        apduRoundTripMsP50: apduRttMsP50,
        simulatedReader: simulated,
        strictAcr122uTagApdusPerPayment: strict.tag.apdusPerPayment,
      },
      ...(quickack
        ? {
            loopbackQuickack: {
              tag: quickack.tag,
              signing: quickack.signing,
              apduRoundTripMsP50: quickack.baseline.apduRoundTripMsP50,
            },
          }
        : {}),
      payments: n,
      note: 'softwareMs = total minus time waiting on card APDUs; machine shared with other jobs (noisy)',
    }
    const rows: BenchRow[] = [
      {
        metric: 'tag APDUs per payment',
        value: real.tag.apdusPerPayment,
        unit: 'APDUs',
        baseline: { name: 'strict ACR122U 16/4-byte commands', value: strict.tag.apdusPerPayment },
        target: '<= 6',
        ok: real.tag.apdusPerPayment <= 6,
      },
      {
        metric: 'tag software per payment p50',
        value: real.tag.softwareMsP50,
        unit: 'ms',
        baseline: { name: 'whole payment on simulated reader', value: simulated.tag.totalMsP50 },
        target: '<= 5',
        ok: real.tag.softwareMsP50 <= 5,
      },
      {
        metric: 'tag total per payment p50',
        value: real.tag.totalMsP50,
        unit: 'ms',
        baseline: {
          name: 'APDUs x raw APDU round trip',
          value: round(real.tag.apdusPerPayment * apduRttMsP50),
        },
      },
      {
        metric: 'signing APDUs per payment',
        value: real.signing.apdusPerPayment,
        unit: 'APDUs',
      },
      {
        metric: 'signing software per payment p50',
        value: real.signing.softwareMsP50,
        unit: 'ms',
        baseline: { name: 'whole payment on simulated reader', value: simulated.signing.totalMsP50 },
        target: '<= 5',
        ok: real.signing.softwareMsP50 <= 5,
      },
      {
        metric: 'signing total per payment p50',
        value: real.signing.totalMsP50,
        unit: 'ms',
        baseline: {
          name: 'APDUs x raw APDU round trip',
          value: round(real.signing.apdusPerPayment * apduRttMsP50),
        },
      },
      { metric: 'raw APDU round trip via pcscd p50', value: apduRttMsP50, unit: 'ms' },
    ]
    if (quickack) {
      rows.push(
        {
          metric: 'tag total p50, loopback quickack',
          value: quickack.tag.totalMsP50,
          unit: 'ms',
          baseline: { name: 'stock loopback', value: real.tag.totalMsP50 },
        },
        {
          metric: 'signing total p50, loopback quickack',
          value: quickack.signing.totalMsP50,
          unit: 'ms',
          baseline: { name: 'stock loopback', value: real.signing.totalMsP50 },
        },
        {
          metric: 'raw APDU round trip p50, loopback quickack',
          value: quickack.baseline.apduRoundTripMsP50,
          unit: 'ms',
          baseline: { name: 'stock loopback', value: apduRttMsP50 },
        },
      )
    }
    return { json, rows }
  } finally {
    await pcscd.stop()
    release()
  }
}
