/**
 * AIPerf `profile_export_aiperf.json`: the aggregate summary, one stats block per metric tag
 * (`{unit, avg, min, max, p1…p99, std, count, sum}`), as documented in ai-dynamo/aiperf
 * docs/reference/json-export-schema.md (schema_version 1.0–1.5, AIPerf 0.3–0.14) and the example in
 * docs/tutorials/working-with-profile-exports.md. Read: start_time / end_time (UTC, ISO 8601 without a
 * zone), benchmark_duration (sec), request_count, error_request_count, total_osl (else
 * total_output_tokens), total_isl, and the latency blocks time_to_first_token, inter_token_latency,
 * request_latency (ms). Summary only: there are no per-request records, so percentiles are AIPerf's
 * own and figures it did not write stay null. `nvidia_total_gpu_energy` (J) and
 * `nvidia_total_gpu_power` (W), the GPU telemetry AIPerf sums itself (schema 1.5 names), are kept
 * in the warnings for cross-checking, not used as a meter: they cover AIPerf's telemetry window.
 */
import { EMPTY_STATS } from '../analysis/stats.js'
import type { Stats } from '../summary.js'
import { ImportFormatError, located, parseJsonText, type ImportedRun } from './imported-run.js'

export const AIPERF_SUMMARY_SUPPORTED = ['AIPerf profile_export_aiperf.json schema_version 1.0–1.5 (AIPerf 0.3–0.14), and files before schema_version'] as const

interface Block {
  readonly unit?: unknown
  readonly avg?: unknown
  readonly [k: string]: unknown
}

const UTC_ISO = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)(Z|[+-]\d\d:\d\d)?$/

export function parseAiperfSummary(text: string, fileName = 'profile_export_aiperf.json'): ImportedRun {
  const doc = parseJsonText(text, fileName)
  const hint = `supported: ${AIPERF_SUMMARY_SUPPORTED.join(', ')}`
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new ImportFormatError(`${fileName}: expected one JSON object (profile_export_aiperf.json)`, { hint })
  const o = doc as Record<string, unknown>
  const at = (...path: (string | number)[]): string => located(text, fileName, path)
  const schema = o.schema_version
  if (schema !== undefined && (typeof schema !== 'string' || !/^1\.[0-5](\.\d+)?$/.test(schema))) {
    throw new ImportFormatError(`${at('schema_version')}: unknown version ${JSON.stringify(schema)}`, { hint })
  }
  const block = (tag: string): Block | null => {
    const b = o[tag]
    if (b === undefined || b === null) return null
    if (typeof b !== 'object' || Array.isArray(b)) throw new ImportFormatError(`${at(tag)}: expected a stats block {unit, avg, …}`, { hint })
    return b as Block
  }
  const avg = (tag: string, units: readonly string[]): number | null => {
    const b = block(tag)
    if (b === null) return null
    if (typeof b.avg !== 'number' || !Number.isFinite(b.avg)) throw new ImportFormatError(`${at(tag, 'avg')}: expected a number, got ${JSON.stringify(b.avg)}`, { hint })
    if (!units.includes(String(b.unit))) throw new ImportFormatError(`${at(tag, 'unit')}: expected ${units.map((u) => `"${u}"`).join(' or ')}, got ${JSON.stringify(b.unit)}`, { hint })
    return b.avg
  }
  const stats = (tag: string): Stats | null => {
    const b = block(tag)
    if (b === null) return null
    if (b.unit !== 'ms') throw new ImportFormatError(`${at(tag, 'unit')}: expected "ms", got ${JSON.stringify(b.unit)}`, { hint })
    const n = (k: string): number | null => (typeof b[k] === 'number' && Number.isFinite(b[k]) ? (b[k]) : null)
    return { ...EMPTY_STATS, count: n('count') ?? 0, mean: n('avg'), p50: n('p50'), p90: n('p90'), p95: n('p95'), p99: n('p99'), max: n('max'), min: n('min'), stddev: n('std') }
  }
  const time = (key: string): number => {
    const v = o[key]
    const m = typeof v === 'string' ? UTC_ISO.exec(v) : null
    if (!m) throw new ImportFormatError(`${at(key)}: expected an ISO 8601 UTC time, got ${JSON.stringify(v)}`, { hint })
    return Date.parse(`${m[1]}${m[2] ?? 'Z'}`)
  }
  if (block('request_count') === null && block('benchmark_duration') === null) {
    throw new ImportFormatError(`${fileName}: no request_count / benchmark_duration blocks (not a profile_export_aiperf.json)`, { hint: `${hint}; the per-request file is profile_export.jsonl (tokenwatt import aiperf reads both)` })
  }
  const startWallMs = time('start_time')
  const endWallMs = time('end_time')
  const durationS = avg('benchmark_duration', ['sec', 's', 'seconds']) ?? (endWallMs - startWallMs) / 1000
  const completed = avg('request_count', ['requests', 'req'])
  if (completed === null) throw new ImportFormatError(`${at('request_count')}: missing`, { hint })
  const output = avg('total_osl', ['tokens']) ?? avg('total_output_tokens', ['tokens'])
  if (output === null) throw new ImportFormatError(`${fileName}: total_osl: missing (and no total_output_tokens)`, { hint: "tokens/J needs the run's output tokens" })
  const input = avg('total_isl', ['tokens'])
  const failed = avg('error_request_count', ['requests', 'req'])
  const cfg = o.input_config as { endpoint?: { model_names?: unknown; url?: unknown }; loadgen?: { concurrency?: unknown; request_rate?: unknown } } | undefined
  const names = cfg?.endpoint?.model_names
  const model = Array.isArray(names) && typeof names[0] === 'string' ? names[0] : 'unknown'
  const unavailable = ['per-request records (profile_export_aiperf.json is a summary; import profile_export.jsonl for them)', 'TPOT (AIPerf reports inter_token_latency, the same per-request figure, which is used)']
  if (input === null) unavailable.push('input tokens (no total_isl)')
  const ttft = stats('time_to_first_token')
  const itl = stats('inter_token_latency')
  const e2e = stats('request_latency')
  const warnings: string[] = []
  const energy = avg('nvidia_total_gpu_energy', ['J', 'joules'])
  if (energy !== null && output > 0) warnings.push(`AIPerf's own GPU telemetry: ${energy.toFixed(1)} J over its telemetry window (${(output / energy).toFixed(4)} output tokens/J by its count); tokenwatt's figures use the power you give`)
  if (o.was_cancelled === true) warnings.push('AIPerf marked this run as cancelled (was_cancelled: true); its totals cover the part that ran')
  const toolStats: NonNullable<ImportedRun['toolStats']> = {
    ...(ttft ? { ttftMs: ttft } : {}),
    ...(itl ? { itlMs: itl, tpotMs: itl } : {}),
    ...(e2e ? { e2eMs: e2e } : {}),
  }
  return {
    format: 'aiperf',
    tool: { name: 'aiperf', version: typeof o.aiperf_version === 'string' ? o.aiperf_version : `schema ${typeof schema === 'string' ? schema : 'before 1.0'}` },
    model,
    endpoint: typeof cfg?.endpoint?.url === 'string' ? cfg.endpoint.url : null,
    startWallMs,
    durationS,
    requests: { completed, failed },
    tokens: { input: input ?? 0, output },
    load: { concurrency: typeof cfg?.loadgen?.concurrency === 'number' ? cfg.loadgen.concurrency : null, rate: typeof cfg?.loadgen?.request_rate === 'number' ? cfg.loadgen.request_rate : null },
    samples: { ttftMs: [], tpotMs: [], itlMs: [], e2eMs: [], inputTokens: [], outputTokens: [] },
    means: { ttftMs: ttft?.mean ?? null, tpotMs: itl?.mean ?? null, itlMs: itl?.mean ?? null, e2eMs: e2e?.mean ?? null },
    toolStats,
    unavailable,
    warnings,
    records: [],
    tokenSource: 'server-usage',
    spanKnown: true,
    power: null,
    benchmark: null,
  }
}
