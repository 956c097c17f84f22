import type { MonitorConfig } from '../config/monitor-schema.js'
import { SERVER_PRESETS, type ServerMetricsMapping, type ServerPresetId } from './server-presets.js'

/** The preset's names with the config's `mapping` overrides applied (all of them for `custom`). */
export function resolveMapping(config: Pick<MonitorConfig, 'preset' | 'mapping'>): ServerMetricsMapping & { readonly server: string } {
  const id = config.preset as ServerPresetId
  const m = config.mapping
  const base: ServerMetricsMapping & { server: string } =
    id === 'custom'
      ? { server: 'custom', outputTokens: { metric: m.outputTokens ?? '' }, inputTokens: null, running: null, ttft: null, itl: null, e2e: null }
      : { ...SERVER_PRESETS[id] }
  return {
    server: base.server,
    outputTokens: m.outputTokens !== undefined ? { metric: m.outputTokens } : base.outputTokens,
    inputTokens: m.inputTokens !== undefined ? { metric: m.inputTokens } : base.inputTokens,
    running: m.running ?? base.running,
    ttft: m.ttft ?? base.ttft,
    itl: m.itl ?? base.itl,
    e2e: m.e2e ?? base.e2e,
  }
}

/** Every sample name the mapping reads (for Prometheus queries and the preflight hint). */
export function mappedSampleNames(m: ServerMetricsMapping): string[] {
  const out = [m.outputTokens.metric]
  if (m.inputTokens) out.push(m.inputTokens.metric)
  if (m.running) out.push(m.running)
  for (const h of [m.ttft, m.itl, m.e2e]) if (h) out.push(`${h}_bucket`)
  return out
}
