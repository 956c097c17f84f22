/**
 * Threshold alerts on the monitor's live figures: `tokens_per_joule < 2 for 10m` fires once the
 * figure (over the 1-minute window) has been below 2 for ten minutes without a break, and resolves as
 * soon as it is not. A figure that is null (no power, no tokens) neither fires nor resolves the rule:
 * the state is `unknown`, as Prometheus keeps a rule pending only on samples it has.
 */
import { ConfigError } from '../errors.js'

export const ALERT_FIGURES = [
  'tokens_per_joule',
  'joules_per_token',
  'output_tokens_per_s',
  'usd_per_million_tokens',
  'power_w',
  'utilization',
  'idle_share',
  'ttft_p99_ms',
  'itl_p99_ms',
  'e2e_p99_ms',
] as const
export type AlertFigure = (typeof ALERT_FIGURES)[number]

export interface AlertRule {
  /** The rule as written (the exporter's `alert` label). */
  readonly text: string
  readonly figure: AlertFigure
  readonly op: '<' | '<=' | '>' | '>='
  readonly threshold: number
  readonly forS: number
}

export type AlertState = 'ok' | 'pending' | 'firing' | 'unknown'

/** Parses `FIGURE OP NUMBER [for DURATION]`; throws ConfigError with the figures allowed. */
export function parseAlertRule(text: string): AlertRule {
  const m = /^\s*([a-z_0-9]+)\s*(<=|>=|<|>)\s*([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*(?:for\s+(\d+(?:\.\d+)?)\s*(s|m|h)?)?\s*$/.exec(text)
  if (!m) throw new ConfigError(`--alert "${text}": expected FIGURE OP NUMBER [for DURATION]`, { hint: "e.g. --alert 'tokens_per_joule < 2 for 10m'" })
  const figure = m[1] as AlertFigure
  if (!ALERT_FIGURES.includes(figure)) throw new ConfigError(`--alert "${text}": unknown figure ${m[1]}`, { hint: `one of ${ALERT_FIGURES.join(', ')}` })
  const n = m[4] === undefined ? 0 : Number(m[4])
  const unit = m[5] ?? 's'
  const forS = unit === 'h' ? n * 3600 : unit === 'm' ? n * 60 : n
  return { text: text.trim(), figure, op: m[2] as AlertRule['op'], threshold: Number(m[3]), forS }
}

/** Follows one rule over time. */
export class AlertTracker {
  private breachSinceNs: number | null = null
  state: AlertState = 'unknown'
  /** Value seen at the last evaluation. */
  value: number | null = null

  constructor(readonly rule: AlertRule) {}

  /** Evaluates at `atNs`; returns the new state when it changed, else null. */
  evaluate(atNs: number, value: number | null): AlertState | null {
    const before = this.state
    this.value = value
    if (value === null) {
      this.state = 'unknown'
    } else if (breaches(this.rule, value)) {
      this.breachSinceNs ??= atNs
      this.state = atNs - this.breachSinceNs >= this.rule.forS * 1e9 ? 'firing' : 'pending'
    } else {
      this.breachSinceNs = null
      this.state = 'ok'
    }
    return this.state === before ? null : this.state
  }
}

function breaches(r: AlertRule, v: number): boolean {
  switch (r.op) {
    case '<':
      return v < r.threshold
    case '<=':
      return v <= r.threshold
    case '>':
      return v > r.threshold
    case '>=':
      return v >= r.threshold
  }
}
