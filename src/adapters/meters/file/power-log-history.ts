import type { Boundary, MeterInfo } from '../../../core/ports.js'
import type { PowerSample } from '../../../core/records.js'
import { PowerLogParser } from './power-log.js'

export interface PowerLogHistory {
  readonly samples: PowerSample[]
  readonly info: MeterInfo
  readonly badLines: number
  /** Wall-clock ms of the first and last row, whatever the run's span. */
  readonly spanWallMs: { readonly first: number; readonly last: number } | null
}

/**
 * A recorded power log (the same CSV/JSONL the `file` meter reads) placed on a past run's
 * timeline: row time (Unix ms) minus the run's start gives ns from the run epoch. Rows outside the
 * run stay in; the energy analysis interpolates the window's edges and reports its coverage.
 */
export function readPowerLogHistory(text: string, opts: { readonly path: string; readonly boundary: Boundary; readonly epochWallMs: number; readonly id?: string }): PowerLogHistory {
  const parser = new PowerLogParser('auto', { timeUnit: 'auto' })
  const rows = parser.push(text, true)
  const id = opts.id ?? 'file'
  const samples: PowerSample[] = rows
    .map((r) => ({ meterId: id, channel: r.channel ?? opts.boundary, atNs: (r.timeMs - opts.epochWallMs) * 1e6, sourceTimeMs: r.timeMs, powerW: r.powerW, energyJ: r.energyJ }))
    .sort((a, b) => a.atNs - b.atNs)
  const gaps: number[] = []
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1] as PowerSample
    const b = samples[i] as PowerSample
    if (a.channel === b.channel && b.atNs > a.atNs) gaps.push((b.atNs - a.atNs) / 1e6)
  }
  gaps.sort((a, b) => a - b)
  const first = rows.length > 0 ? Math.min(...rows.map((r) => r.timeMs)) : null
  const last = rows.length > 0 ? Math.max(...rows.map((r) => r.timeMs)) : null
  return {
    samples,
    badLines: parser.badLines,
    spanWallMs: first !== null && last !== null ? { first, last } : null,
    info: {
      id,
      kind: 'file',
      boundary: opts.boundary,
      hasCounter: samples.some((s) => s.energyJ !== null),
      periodMs: gaps.length > 0 ? (gaps[gaps.length >> 1] as number) : 1000,
      averagingWindowMs: 0,
      accuracyRel: 0.02,
      accuracyW: 0,
      estimated: false,
      description: `power log ${opts.path}`,
    },
  }
}
