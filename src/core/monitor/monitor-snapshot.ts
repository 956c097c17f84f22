import type { AlertState } from './alert-rule.js'
import type { TargetStatus } from './monitor-state.js'
import type { WindowFigures } from './monitor-summary.js'

/** Rolling windows the monitor reports, by name; `all` is since the session started. */
export const MONITOR_WINDOWS: readonly { readonly name: string; readonly lengthS: number | null }[] = [
  { name: '1m', lengthS: 60 },
  { name: '15m', lengthS: 900 },
  { name: '1h', lengthS: 3600 },
  { name: 'all', lengthS: null },
]

/** What the monitor knows after a scrape round: for the terminal line, the exporter and the dashboard. */
export interface MonitorSnapshot {
  readonly runId: string
  readonly atNs: number
  readonly windows: readonly WindowFigures[]
  /** Last reading of each meter channel. */
  readonly power: readonly { readonly meter: string; readonly boundary: string; readonly channel: string; readonly powerW: number }[]
  readonly targets: readonly TargetStatus[]
  readonly alerts: readonly { readonly rule: string; readonly state: AlertState; readonly value: number | null }[]
  /** Tokens counted since the session started. */
  readonly outputTokensTotal: number
  readonly inputTokensTotal: number
  readonly running: number | null
}
