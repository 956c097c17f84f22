import { meterEnergy, indexSamples } from '../core/analysis/energy/meter-energy.js'
import { effectiveChunkTokens, requestTimings } from '../core/analysis/request-metrics.js'
import { describe } from '../core/analysis/stats.js'
import type { MeterInfo } from '../core/ports.js'
import type { MonitorTick } from '../core/monitor/monitor-state.js'
import type { PowerSample, RequestRecord } from '../core/records.js'

/** What a run's live view shows at one moment, computed from the records and samples stored so far. */
export interface LiveSnapshot {
  readonly runId: string
  readonly status: string
  /** Seconds from run start the snapshot reaches (latest record or sample). */
  readonly atS: number
  readonly requestsDone: number
  readonly requestsFailed: number
  readonly outputTokens: number
  /** Output tokens whose chunk arrived in the last 10 s ÷ 10 s. */
  readonly outputTokensPerSLast10s: number | null
  readonly ttftMsP50: number | null
  readonly e2eMsP50: number | null
  readonly meters: readonly { readonly id: string; readonly boundary: string; readonly avgW: number | null; readonly energyJ: number | null; readonly joulesPerOutputToken: number | null }[]
  /** Where the tokens come from: the run's request records, or a monitor session's server counters. */
  readonly source?: 'requests' | 'server-counters'
}

const LAST_NS = 10e9

/** Measured requests (not warm-up, not cancelled by the run) and every sample, as of the latest one. */
export function liveSnapshot(runId: string, status: string, records: readonly RequestRecord[], samples: readonly PowerSample[], meters: readonly MeterInfo[]): LiveSnapshot {
  const measured = records.filter((r) => r.phase === 'measure' && r.error?.kind !== 'aborted')
  let startNs = Infinity
  let atNs = 0
  for (const r of measured) {
    startNs = Math.min(startNs, r.sentAtNs)
    atNs = Math.max(atNs, requestTimings(r).endNs)
  }
  for (const s of samples) atNs = Math.max(atNs, s.atNs)
  let outputTokens = 0
  let recent = 0
  const ttft: number[] = []
  const e2e: number[] = []
  for (const r of measured) {
    const t = requestTimings(r)
    outputTokens += t.outputTokens
    if (r.error === null && t.ttftNs !== null) ttft.push(t.ttftNs / 1e6)
    if (r.error === null && t.e2eNs !== null) e2e.push(t.e2eNs / 1e6)
    const tokens = effectiveChunkTokens(r)
    r.chunkAtNs.forEach((at, i) => {
      if (at > atNs - LAST_NS) recent += tokens[i] ?? 0
    })
  }
  const index = indexSamples(samples)
  const win = { startNs: Number.isFinite(startNs) ? startNs : 0, endNs: atNs }
  return {
    runId,
    status,
    atS: atNs / 1e9,
    requestsDone: measured.length,
    requestsFailed: measured.filter((r) => r.error !== null).length,
    outputTokens,
    outputTokensPerSLast10s: measured.length > 0 ? recent / (LAST_NS / 1e9) : null,
    ttftMsP50: describe(ttft).p50,
    e2eMsP50: describe(e2e).p50,
    meters: meters.map((info) => {
      const e = win.endNs > win.startNs ? meterEnergy(info, index.get(info.id), win).energyJ : null
      return { id: info.id, boundary: info.boundary, avgW: e === null ? null : e / ((win.endNs - win.startNs) / 1e9), energyJ: e, joulesPerOutputToken: e !== null && outputTokens > 0 ? e / outputTokens : null }
    }),
  }
}

/**
 * A monitor session's live view: tokens from the servers' counters (the scrape rounds stored so far,
 * each a delta), power and J/token per meter over the same span; no per-request latency (the servers'
 * histograms are in the session's summary and in Grafana).
 */
export function monitorLiveSnapshot(runId: string, status: string, ticks: readonly MonitorTick[], samples: readonly PowerSample[], meters: readonly MeterInfo[]): LiveSnapshot {
  const first = ticks[0]
  const last = ticks[ticks.length - 1]
  let outputTokens = 0
  let recent = 0
  for (const t of ticks.slice(1)) {
    outputTokens += t.outputTokens
    if (last && t.atNs > last.atNs - LAST_NS) recent += t.outputTokens
  }
  const index = indexSamples(samples)
  const win = { startNs: first?.atNs ?? 0, endNs: last?.atNs ?? 0 }
  const spanS = Math.min(LAST_NS, win.endNs - win.startNs) / 1e9
  return {
    runId,
    status,
    atS: win.endNs / 1e9,
    requestsDone: 0,
    requestsFailed: 0,
    outputTokens,
    outputTokensPerSLast10s: spanS > 0 ? recent / spanS : null,
    ttftMsP50: null,
    e2eMsP50: null,
    source: 'server-counters',
    meters: meters.map((info) => {
      const e = win.endNs > win.startNs ? meterEnergy(info, index.get(info.id), win).energyJ : null
      return { id: info.id, boundary: info.boundary, avgW: e === null ? null : e / ((win.endNs - win.startNs) / 1e9), energyJ: e, joulesPerOutputToken: e !== null && outputTokens > 0 ? e / outputTokens : null }
    }),
  }
}
