import { ConfigError } from '../errors.js'
import { knownMetricIds, readMetric, resolveMetric, type MetricReading, type ResolvedMetric } from './metric-lookup.js'
import type { RunEvidence } from './run-evidence.js'

export type ClaimOp = '>=' | '<=' | '>' | '<' | '=='

export interface Comparison {
  readonly metric: ResolvedMetric
  readonly op: ClaimOp
  readonly value: number
  readonly text: string
}

/** `METRIC OP VALUE [at CONDITION [and CONDITION …]]`, parsed. */
export interface Claim {
  readonly text: string
  readonly target: Comparison
  readonly conditions: readonly Comparison[]
}

const OPS: Readonly<Record<string, ClaimOp>> = { '>=': '>=', '≥': '>=', '=>': '>=', '<=': '<=', '≤': '<=', '=<': '<=', '>': '>', '<': '<', '==': '==', '=': '==' }
const SI: Readonly<Record<string, number>> = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, '%': 0.01 }
const PART = /^\s*([A-Za-z][A-Za-z0-9_]*)\s*(>=|<=|=>|=<|==|=|>|<|≥|≤)\s*\$?([-+]?(?:\d[\d_,]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*([kKMGT%]?)\s*([^\s\d][^\s]*)?\s*$/

/** Parses `2.5e6`, `2.5M`, `1,000`, `90%` (→ 0.9). */
export function parseClaimNumber(text: string, suffix = ''): number {
  const v = Number(text.replace(/[_,]/g, ''))
  const f = SI[suffix]
  if (!Number.isFinite(v) || f === undefined) throw new ConfigError(`not a number: ${JSON.stringify(text + suffix)}`)
  return v * f
}

function comparison(part: string, claim: string): Comparison {
  const m = PART.exec(part)
  if (!m) {
    throw new ConfigError(`cannot read ${JSON.stringify(part.trim())} in claim ${JSON.stringify(claim)}`, {
      hint: 'write METRIC OP VALUE [at METRIC OP VALUE], e.g. "output_tokens_per_s_per_mw >= 2.5e6 at interactivity >= 90"',
    })
  }
  const [, id = '', opText = '', num = '', suffix = ''] = m
  const metric = resolveMetric(id.toLowerCase())
  if (!metric) {
    const near = knownMetricIds().filter((k) => k.includes(id.toLowerCase().split('_')[0] ?? '')).slice(0, 8)
    throw new ConfigError(`unknown metric ${JSON.stringify(id)} in claim`, {
      hint: `metric ids are snake_case, e.g. ${near.length > 0 ? near.join(', ') : 'output_token_throughput, time_to_first_token_p99, output_tokens_per_joule, cost_per_million_output_tokens'} (see docs/metrics.md)`,
    })
  }
  return { metric, op: OPS[opText] as ClaimOp, value: parseClaimNumber(num, suffix), text: part.trim() }
}

/**
 * Parses a claim such as `output_tokens_per_s_per_mw >= 2.5e6 at interactivity >= 90`. Metric ids
 * are the registry's (distributions take a `_p50`/`_p99`/… suffix, p50 when none); values take
 * SI suffixes (k, M, G) and `%`; conditions are joined with `and` or commas.
 */
export function parseClaim(text: string): Claim {
  const [main = '', ...rest] = text.split(/\s+at\s+/i)
  const conditions = rest.length === 0 ? [] : rest.join(' at ').split(/\s+and\s+|\s*,\s*/i).filter((c) => c.trim() !== '').map((c) => comparison(c, text))
  return { text: text.trim(), target: comparison(main, text), conditions }
}

function holds(v: number, op: ClaimOp, x: number): boolean {
  switch (op) {
    case '>=':
      return v >= x
    case '<=':
      return v <= x
    case '>':
      return v > x
    case '<':
      return v < x
    case '==':
      return Math.abs(v - x) <= 1e-9 * Math.max(1, Math.abs(x))
  }
}

export interface RunJudgement {
  readonly runId: string
  readonly conditions: readonly { readonly comparison: Comparison; readonly reading: MetricReading; readonly met: boolean }[]
  readonly conditionsMet: boolean
  readonly reading: MetricReading
}

export interface ClaimVerdict {
  readonly claim: Claim
  readonly passed: boolean
  /** clear: the whole interval satisfies the claim; marginal: only the point estimate does (or only it fails); unknown: no interval. */
  readonly confidence: 'clear' | 'marginal' | 'unknown'
  /** The run the verdict rests on: the best one meeting every condition. */
  readonly runId: string | null
  readonly reading: MetricReading | null
  readonly runs: readonly RunJudgement[]
  readonly reason: string
}

/**
 * Judges a claim against measured runs. Runs that meet every `at` condition are candidates; the
 * claim is judged on the best candidate (highest value for ≥/>, lowest for ≤/<). It passes when the
 * measured value satisfies it; `confidence` says whether its whole 95 % interval does. With
 * `strict`, only a clear pass passes.
 */
export function verifyClaim(claim: Claim, runs: readonly RunEvidence[], options: { readonly strict?: boolean } = {}): ClaimVerdict {
  const judged: RunJudgement[] = runs.map((ev) => {
    const conditions = claim.conditions.map((c) => {
      const reading = readMetric(c.metric, ev)
      return { comparison: c, reading, met: reading.value !== null && holds(reading.value, c.op, c.value) }
    })
    return { runId: ev.summary.id, conditions, conditionsMet: conditions.every((c) => c.met), reading: readMetric(claim.target.metric, ev) }
  })
  const candidates = judged.filter((j) => j.conditionsMet && j.reading.value !== null)
  const base = { claim, runs: judged }
  if (candidates.length === 0) {
    const unmeasured = judged.every((j) => j.reading.value === null)
    const reason = unmeasured
      ? `${claim.target.metric.id} was not measured in ${runs.length === 1 ? 'the run' : 'any run'} (null in the summary)`
      : `no run meets ${claim.conditions.map((c) => c.text).join(' and ')}`
    return { ...base, passed: false, confidence: 'unknown', runId: null, reading: null, reason }
  }
  const { op, value } = claim.target
  const pickHigh = op === '>=' || op === '>'
  const best = candidates.reduce((a, b) => {
    const av = a.reading.value as number
    const bv = b.reading.value as number
    if (op === '==') return Math.abs(bv - value) < Math.abs(av - value) ? b : a
    return (pickHigh ? bv > av : bv < av) ? b : a
  })
  const v = best.reading.value as number
  const i = best.reading.interval
  const point = holds(v, op, value)
  let confidence: ClaimVerdict['confidence'] = 'unknown'
  if (i) {
    const whole = op === '==' ? i.low <= value && value <= i.high : holds(pickHigh ? i.low : i.high, op, value)
    const none = op === '==' ? !whole : !holds(pickHigh ? i.high : i.low, op, value)
    confidence = point ? (whole ? 'clear' : 'marginal') : none ? 'clear' : 'marginal'
  }
  const passed = point && (!options.strict || confidence === 'clear')
  const reason = passed
    ? confidence === 'clear'
      ? 'the whole 95 % interval satisfies the claim'
      : confidence === 'marginal'
        ? 'the measured value satisfies the claim, but its 95 % interval reaches past the bound'
        : 'the measured value satisfies the claim (no interval for this figure)'
    : point
      ? 'the measured value satisfies the claim, but --strict needs the whole 95 % interval to'
      : confidence === 'marginal'
        ? 'the measured value misses the claim, though its 95 % interval reaches the bound'
        : 'the measured value misses the claim'
  return { ...base, passed, confidence, runId: best.runId, reading: best.reading, reason }
}
