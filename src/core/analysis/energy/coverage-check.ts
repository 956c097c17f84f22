import type { MeterInfo } from '../../ports.js'
import type { PowerSample } from '../../records.js'

/**
 * Whether the telemetry covers the whole system the figure is about, as InferenceX checks power
 * validity before quoting tokens per joule: every expected node and device must be in the telemetry,
 * every channel must have a reading at (or within one sampling period of) both ends of the window, and
 * no gap between two readings inside it may be longer than `maxGapS` (default: three sampling
 * periods). A figure over part of the system would be silently smaller; instead it is invalid, with
 * the reasons named.
 */
export interface CoverageExpectation {
  readonly expectNodes?: number | undefined
  readonly expectDevices?: number | undefined
  readonly maxGapS?: number | undefined
}

export interface CoverageCheck {
  readonly verdict: 'valid' | 'invalid'
  readonly expectNodes: number | null
  readonly expectDevices: number | null
  /** Nodes that had readings in the window (labels; unlabelled meters count as `defaultNode`). */
  readonly nodes: readonly string[]
  /** Device channels (GPU UUIDs, indices) that had readings in the window. */
  readonly devices: number
  readonly reasons: readonly string[]
}

export interface CoverageInput {
  readonly meters: readonly MeterInfo[]
  readonly samples: readonly PowerSample[]
  readonly window: { readonly startNs: number; readonly endNs: number }
  readonly expect: CoverageExpectation
  /** The node of meters without a `node` label (the host that ran them). */
  readonly defaultNode: string
}

/** Gap allowed by default, in sampling periods of the meter. */
const DEFAULT_GAP_PERIODS = 3

export function checkCoverage(input: CoverageInput): CoverageCheck {
  const { window: w, expect } = input
  const reasons: string[] = []
  const byChannel = new Map<string, number[]>()
  for (const s of input.samples) {
    const key = `${s.meterId}\u0000${s.channel}`
    let list = byChannel.get(key)
    if (list === undefined) byChannel.set(key, (list = []))
    list.push(s.atNs)
  }
  const nodes = new Set<string>()
  const devices = new Set<string>()
  for (const m of input.meters.filter((x) => !x.estimated)) {
    const periodNs = m.periodMs * 1e6
    const maxGapNs = expect.maxGapS !== undefined ? expect.maxGapS * 1e9 : DEFAULT_GAP_PERIODS * periodNs
    const channels = [...byChannel.entries()].filter(([k]) => k.startsWith(`${m.id}\u0000`))
    if (channels.length === 0) {
      reasons.push(`meter ${m.id} (${m.node ?? input.defaultNode}) has no readings`)
      continue
    }
    let inWindow = false
    for (const [key, times] of channels) {
      const channel = key.slice(m.id.length + 1)
      const sorted = [...times].sort((a, b) => a - b)
      const within = sorted.filter((t) => t >= w.startNs - periodNs && t <= w.endNs + periodNs)
      if (within.length === 0) {
        reasons.push(`${m.id}/${channel}: no reading in the window`)
        continue
      }
      inWindow = true
      if (m.boundary === 'device') devices.add(`${m.node ?? input.defaultNode}/${channel}`)
      const first = within[0] as number
      const last = within[within.length - 1] as number
      if (first > w.startNs + periodNs || last < w.endNs - periodNs) {
        reasons.push(`${m.id}/${channel}: the window is not bracketed by readings (first reading ${signedS(first - w.startNs)} from its start, last ${signedS(last - w.endNs)} from its end)`)
      }
      let worst = 0
      for (let i = 1; i < within.length; i++) worst = Math.max(worst, (within[i] as number) - (within[i - 1] as number))
      if (worst > maxGapNs) reasons.push(`${m.id}/${channel}: a ${fmtS(worst)} gap between readings, longer than the ${fmtS(maxGapNs)} allowed`)
    }
    if (inWindow) nodes.add(m.node ?? input.defaultNode)
  }
  if (expect.expectNodes !== undefined && nodes.size < expect.expectNodes) {
    reasons.push(`${nodes.size} of ${expect.expectNodes} expected nodes in the telemetry (${[...nodes].sort().join(', ') || 'none'})`)
  }
  if (expect.expectDevices !== undefined && devices.size < expect.expectDevices) {
    reasons.push(`${devices.size} of ${expect.expectDevices} expected devices in the telemetry`)
  }
  return {
    verdict: reasons.length === 0 ? 'valid' : 'invalid',
    expectNodes: expect.expectNodes ?? null,
    expectDevices: expect.expectDevices ?? null,
    nodes: [...nodes].sort(),
    devices: devices.size,
    reasons,
  }
}

function signedS(ns: number): string {
  return `${ns < 0 ? '−' : '+'}${fmtS(Math.abs(ns))}`
}

function fmtS(ns: number): string {
  return `${(ns / 1e9).toFixed(2)} s`
}
