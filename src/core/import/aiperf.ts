/**
 * AIPerf `profile_export.jsonl`: one MetricRecordInfo a line, `{metadata, metrics, error}`, as
 * documented in ai-dynamo/aiperf docs/tutorials/working-with-profile-exports.md (AIPerf 0.3–0.5):
 * metadata.request_start_ns / request_end_ns (epoch ns), metadata.benchmark_phase ("profiling";
 * "warmup" lines are skipped), metrics.{time_to_first_token, request_latency, inter_token_latency}
 * `{value, unit: "ms"}`, metrics.{input_sequence_length, output_sequence_length} `{value, unit:
 * "tokens"}`; a failed request has `error: {code, type, message}`. The run's span is the first
 * start to the last end. Per-request records keep their own timestamps, so the span is exact.
 */
import type { RequestRecord } from '../records.js'
import { firstLastChunks, importedError, importedRecord } from './imported-records.js'
import { ImportFormatError, type ImportedRun } from './imported-run.js'

export const AIPERF_SUPPORTED = ['AIPerf 0.3–0.5 profile_export.jsonl (MetricRecordInfo lines)'] as const

export function parseAiperfJsonl(text: string, fileName = 'profile_export.jsonl'): ImportedRun {
  const ttftMs: number[] = []
  const tpotMs: number[] = []
  const itlMs: number[] = []
  const e2eMs: number[] = []
  const inputTokens: number[] = []
  const outputTokens: number[] = []
  let first = Infinity
  let last = -Infinity
  let completed = 0
  let failed = 0
  let input = 0
  let output = 0
  // Request times stay epoch ns until the first start is known, then move onto the run's timeline.
  const reqs: { startNs: number; endNs: number; ttftMs: number | null; latMs: number | null; isl: number | null; osl: number; error: RequestRecord['error'] }[] = []
  const lines = text.split('\n')
  lines.forEach((raw, i) => {
    const line = raw.trim()
    if (line === '') return
    const at = `${fileName}:${i + 1}`
    let rec: unknown
    try {
      rec = JSON.parse(line)
    } catch (e) {
      throw new ImportFormatError(`${at}: not a JSON line: ${(e as Error).message}`, { hint: `supported: ${AIPERF_SUPPORTED.join(', ')}` })
    }
    const r = rec as { metadata?: Record<string, unknown>; metrics?: Record<string, { value?: unknown; unit?: unknown }> | null; error?: unknown }
    if (r === null || typeof r !== 'object' || typeof r.metadata !== 'object' || r.metadata === null) {
      throw new ImportFormatError(`${at}: metadata: missing (not an AIPerf MetricRecordInfo line)`, { hint: `supported: ${AIPERF_SUPPORTED.join(', ')}` })
    }
    const md = r.metadata
    if (md.benchmark_phase !== undefined && md.benchmark_phase !== 'profiling') return
    const start = md.request_start_ns
    const end = md.request_end_ns
    if (typeof start !== 'number') throw new ImportFormatError(`${at}: metadata.request_start_ns: expected epoch ns, got ${JSON.stringify(start)}`)
    if (typeof end !== 'number') throw new ImportFormatError(`${at}: metadata.request_end_ns: expected epoch ns, got ${JSON.stringify(end)}`)
    first = Math.min(first, start)
    last = Math.max(last, end)
    if (r.error !== null && r.error !== undefined) {
      failed++
      const e = r.error as { code?: unknown; type?: unknown; message?: unknown }
      const message = [e.type, e.message].filter((x) => typeof x === 'string').join(': ') || 'failed (AIPerf error record)'
      reqs.push({ startNs: start, endNs: end, ttftMs: null, latMs: null, isl: null, osl: 0, error: importedError(typeof e.code === 'number' ? e.code : null, message) })
      return
    }
    const m = r.metrics ?? {}
    const val = (k: string, unit: string): number | null => {
      const x = m[k]
      if (x === undefined) return null
      if (typeof x.value !== 'number') throw new ImportFormatError(`${at}: metrics.${k}.value: expected a number, got ${JSON.stringify(x.value)}`)
      if (x.unit !== unit) throw new ImportFormatError(`${at}: metrics.${k}.unit: expected "${unit}", got ${JSON.stringify(x.unit)}`)
      return x.value
    }
    completed++
    const osl = val('output_sequence_length', 'tokens') ?? val('output_token_count', 'tokens')
    const isl = val('input_sequence_length', 'tokens')
    if (osl === null) throw new ImportFormatError(`${at}: metrics.output_sequence_length: missing`, { hint: 'tokens/J needs each request\'s output tokens' })
    output += osl
    outputTokens.push(osl)
    if (isl !== null) {
      input += isl
      inputTokens.push(isl)
    }
    const ttft = val('time_to_first_token', 'ms')
    const lat = val('request_latency', 'ms')
    const itl = val('inter_token_latency', 'ms')
    if (ttft !== null) ttftMs.push(ttft)
    if (lat !== null) e2eMs.push(lat)
    if (itl !== null) itlMs.push(itl)
    if (ttft !== null && lat !== null && osl > 1) tpotMs.push((lat - ttft) / (osl - 1))
    reqs.push({ startNs: start, endNs: end, ttftMs: ttft, latMs: lat, isl, osl, error: null })
  })
  if (!Number.isFinite(first)) throw new ImportFormatError(`${fileName}: no profiling records`, { hint: `supported: ${AIPERF_SUPPORTED.join(', ')}` })
  const records = reqs
    .sort((a, b) => a.startNs - b.startNs)
    .map((q, seq) => {
      const sentAtNs = q.startNs - first
      const lastNs = q.latMs !== null ? sentAtNs + q.latMs * 1e6 : q.endNs - first
      const chunks = firstLastChunks(q.ttftMs !== null ? sentAtNs + q.ttftMs * 1e6 : null, lastNs, q.osl)
      return importedRecord({ seq, sentAtNs, ...chunks, lastByteAtNs: q.error === null ? lastNs : q.endNs - first, inputTokens: q.isl, outputTokens: q.error === null ? q.osl : null, tokenSource: 'server-usage', error: q.error })
    })
  const unavailable = inputTokens.length < completed ? ['input_sequence_length of some requests (input tokens undercounted)'] : []
  return {
    format: 'aiperf',
    tool: { name: 'aiperf', version: AIPERF_SUPPORTED[0] },
    model: 'unknown',
    endpoint: null,
    startWallMs: first / 1e6,
    durationS: (last - first) / 1e9,
    requests: { completed, failed },
    tokens: { input, output },
    load: { concurrency: null, rate: null },
    samples: { ttftMs, tpotMs, itlMs, e2eMs, inputTokens, outputTokens },
    means: { ttftMs: null, tpotMs: null, itlMs: null, e2eMs: null },
    unavailable,
    warnings: ['AIPerf records do not name the model; it is stored as "unknown"'],
    records,
    tokenSource: 'server-usage',
    spanKnown: true,
    power: null,
    benchmark: null,
  }
}
