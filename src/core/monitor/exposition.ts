/**
 * A parser for the Prometheus text exposition format, version 0.0.4 (what prometheus_client (vLLM,
 * SGLang), the Rust `prometheus`/`metrics` crates (TGI, Dynamo) and llama.cpp's server emit on
 * `/metrics`), following the format's published grammar: `# HELP`/`# TYPE` lines, label values with
 * `\\`, `\"` and `\n` escapes, `NaN`/`+Inf`/`-Inf`, optional millisecond timestamps, and histogram /
 * summary families whose samples carry the `_bucket`/`_sum`/`_count` suffixes. OpenMetrics' `# EOF`
 * and `_created` samples are accepted too.
 *
 * Why our own: the one npm parser (parse-prometheus-text-format 1.1.1) drops the `_sum`, `_count` and
 * labels of any histogram whose bucket lines carry labels besides `le` (tested), which is exactly what
 * vLLM and SGLang expose. Pure: text in, samples out; a malformed line is counted, never thrown.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'

export interface ExpositionSample {
  /** The sample's own name (e.g. `vllm:e2e_request_latency_seconds_bucket`). */
  readonly name: string
  /** The family it belongs to (`vllm:e2e_request_latency_seconds`). */
  readonly family: string
  readonly type: MetricType
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
  readonly timestampMs: number | null
}

export interface ExpositionParse {
  readonly samples: readonly ExpositionSample[]
  /** Lines that could not be parsed, with their line number (1-based). */
  readonly errors: readonly { readonly line: number; readonly message: string }[]
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/
const SUFFIXES: Readonly<Record<MetricType, readonly string[]>> = {
  histogram: ['_bucket', '_sum', '_count', '_created'],
  summary: ['_sum', '_count', '_created'],
  counter: ['_total', '_created'],
  gauge: [],
  untyped: [],
}

/**
 * Parses one `/metrics` body.
 *
 * @example
 * parseExposition('# TYPE vllm:generation_tokens_total counter\nvllm:generation_tokens_total{model_name="m"} 1234.0\n')
 *   .samples[0] // → { name: 'vllm:generation_tokens_total', type: 'counter', labels: { model_name: 'm' }, value: 1234, ... }
 */
export function parseExposition(text: string): ExpositionParse {
  const types = new Map<string, MetricType>()
  const samples: ExpositionSample[] = []
  const errors: { line: number; message: string }[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (line.trim() === '') continue
    if (line.startsWith('#')) {
      const m = /^#\s+(TYPE|HELP)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\s+(.*))?$/.exec(line)
      if (m && m[1] === 'TYPE') {
        const t = (m[3] ?? '').trim().toLowerCase()
        const type: MetricType = t === 'counter' || t === 'gauge' || t === 'histogram' || t === 'summary' ? t : 'untyped'
        types.set(m[2] as string, type)
      }
      continue
    }
    const r = parseSampleLine(line)
    if (typeof r === 'string') {
      errors.push({ line: i + 1, message: r })
      continue
    }
    const { family, type } = familyOf(r.name, types)
    samples.push({ ...r, family, type })
  }
  return { samples, errors }
}

function familyOf(name: string, types: ReadonlyMap<string, MetricType>): { family: string; type: MetricType } {
  const direct = types.get(name)
  if (direct !== undefined && direct !== 'counter') return { family: name, type: direct }
  for (const [family, type] of types) {
    for (const suffix of SUFFIXES[type]) if (name === family + suffix) return { family, type }
  }
  return { family: name, type: direct ?? 'untyped' }
}

function parseSampleLine(line: string): { name: string; labels: Record<string, string>; value: number; timestampMs: number | null } | string {
  const nameMatch = NAME.exec(line)
  if (!nameMatch) return 'expected a metric name'
  const name = nameMatch[0]
  let pos = name.length
  const labels: Record<string, string> = {}
  if (line[pos] === '{') {
    pos++
    for (;;) {
      while (line[pos] === ' ' || line[pos] === '\t') pos++
      if (line[pos] === '}') {
        pos++
        break
      }
      const ln = LABEL_NAME.exec(line.slice(pos))
      if (!ln) return `bad label name at column ${pos + 1}`
      pos += ln[0].length
      while (line[pos] === ' ') pos++
      if (line[pos] !== '=') return `expected "=" after label ${ln[0]}`
      pos++
      while (line[pos] === ' ') pos++
      if (line[pos] !== '"') return `expected a quoted value for label ${ln[0]}`
      pos++
      let value = ''
      for (;;) {
        const c = line[pos]
        if (c === undefined) return `unterminated value of label ${ln[0]}`
        pos++
        if (c === '"') break
        if (c === '\\') {
          const e = line[pos]
          pos++
          value += e === 'n' ? '\n' : e === '\\' ? '\\' : e === '"' ? '"' : `\\${e ?? ''}`
        } else value += c
      }
      labels[ln[0]] = value
      while (line[pos] === ' ') pos++
      if (line[pos] === ',') pos++
      else if (line[pos] !== '}') return `expected "," or "}" after label ${ln[0]}`
    }
  }
  const rest = line.slice(pos).trim().split(/[ \t]+/)
  if (rest.length < 1 || rest[0] === '' || rest.length > 2) return 'expected a value (and an optional timestamp) after the metric'
  const value = parseValue(rest[0] as string)
  if (value === null) return `bad sample value "${rest[0]}"`
  let timestampMs: number | null = null
  if (rest[1] !== undefined) {
    const t = Number(rest[1])
    if (!Number.isFinite(t)) return `bad timestamp "${rest[1]}"`
    timestampMs = t
  }
  return { name, labels, value, timestampMs }
}

function parseValue(s: string): number | null {
  if (s === 'NaN') return Number.NaN
  if (s === '+Inf' || s === 'Inf') return Infinity
  if (s === '-Inf') return -Infinity
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return null
  return Number(s)
}

/** A stable key for a label set (sorted `k="v"` pairs), to tell series apart across scrapes. */
export function labelKey(labels: Readonly<Record<string, string>>, omit: readonly string[] = []): string {
  return Object.keys(labels)
    .filter((k) => !omit.includes(k))
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',')
}
