/**
 * GuideLLM `benchmarks.json` (its GenerativeBenchmarksReport): `{benchmarks: [GenerativeBenchmark]}`,
 * each benchmark of a sweep its own run. Shapes checked against vllm-project/guidellm:
 * - 0.4+ (`src/guidellm/benchmark/schemas/generative/benchmark.py`, `schemas/request_stats.py`,
 *   `schemas/info.py`): benchmark `type_: "generative_benchmark"`, `start_time` / `end_time` (computed:
 *   `scheduler_metrics.measure_start_time` / `measure_end_time`, Unix s), `scheduler_metrics.requests_made`
 *   `{successful, incomplete, errored, total}`, requests `{successful, incomplete, errored}` of
 *   `type_: "generative_request_stats"` with `info.timings.{request_start, first_token_iteration,
 *   last_token_iteration, request_end}` (Unix s) and computed `prompt_tokens` / `output_tokens`.
 * - 0.2–0.3 (`src/guidellm/benchmark/benchmark.py`): requests of `type_: "generative_text_response"`
 *   (or untyped) with `start_time`, `first_token_time`, `last_token_time`, `end_time`, `prompt_tokens`,
 *   `output_tokens`; benchmark `start_time` / `end_time`, `request_totals`.
 * GuideLLM may keep only a sample of the requests (`get_sampled()`); token totals then come from
 * `metrics.output_token_count.successful.total_sum` / `prompt_token_count`, both shapes' field.
 */
import type { RequestRecord } from '../records.js'
import { firstLastChunks, importedRecord, samplesFromRecords } from './imported-records.js'
import { ImportFormatError, located, parseJsonText, type ImportedRun } from './imported-run.js'

export const GUIDELLM_SUPPORTED = ['GuideLLM 0.2–0.3 benchmarks.json (generative_text_response requests)', 'GuideLLM 0.4+ benchmarks.json (generative_request_stats requests)'] as const

const REQUEST_TYPES = ['generative_request_stats', 'generative_text_response'] as const

interface Timing {
  readonly startS: number | null
  readonly firstS: number | null
  readonly lastS: number | null
  readonly endS: number | null
  readonly prompt: number | null
  readonly output: number | null
}

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null)

function timingOf(r: Record<string, unknown>): Timing {
  const info = r.info as { timings?: Record<string, unknown> } | undefined
  const t = info?.timings
  if (t !== undefined) {
    return {
      startS: num(t.request_start) ?? num(t.resolve_start),
      firstS: num(t.first_token_iteration),
      lastS: num(t.last_token_iteration),
      endS: num(t.request_end) ?? num(t.resolve_end),
      prompt: num(r.prompt_tokens),
      output: num(r.output_tokens),
    }
  }
  return { startS: num(r.start_time), firstS: num(r.first_token_time), lastS: num(r.last_token_time), endS: num(r.end_time), prompt: num(r.prompt_tokens), output: num(r.output_tokens) }
}

export function parseGuidellmReport(text: string, fileName = 'benchmarks.json'): ImportedRun[] {
  const doc = parseJsonText(text, fileName)
  const hint = `supported: ${GUIDELLM_SUPPORTED.join(', ')}`
  const at = (...path: (string | number)[]): string => located(text, fileName, path)
  if (doc === null || typeof doc !== 'object' || !Array.isArray((doc as { benchmarks?: unknown }).benchmarks)) {
    throw new ImportFormatError(`${at('benchmarks')}: missing (not a GuideLLM benchmarks.json report)`, { hint })
  }
  const benchmarks = (doc as { benchmarks: unknown[] }).benchmarks
  if (benchmarks.length === 0) throw new ImportFormatError(`${at('benchmarks')}: the report has no benchmarks`, { hint })
  return benchmarks.map((b, bi) => {
    const where = (...rest: (string | number)[]): string => at('benchmarks', bi, ...rest)
    const bench = b as Record<string, unknown>
    if (bench.type_ !== undefined && bench.type_ !== 'generative_benchmark') {
      throw new ImportFormatError(`${where('type_')}: unknown benchmark type ${JSON.stringify(bench.type_)}`, { hint })
    }
    const sched = bench.scheduler_metrics as Record<string, unknown> | undefined
    const startS = num(bench.start_time) ?? num(sched?.measure_start_time)
    const endS = num(bench.end_time) ?? num(sched?.measure_end_time)
    if (startS === null) throw new ImportFormatError(`${where('start_time')}: expected Unix seconds, got ${JSON.stringify(bench.start_time)}`, { hint })
    if (endS === null || endS <= startS) throw new ImportFormatError(`${where('end_time')}: expected Unix seconds after start_time, got ${JSON.stringify(bench.end_time)}`, { hint })
    const reqs = bench.requests as Record<string, unknown> | undefined
    if (reqs === undefined || typeof reqs !== 'object') throw new ImportFormatError(`${where('requests')}: missing`, { hint })
    const list = (status: 'successful' | 'incomplete' | 'errored'): Record<string, unknown>[] => {
      const l = reqs[status]
      if (l === undefined || l === null) return []
      if (!Array.isArray(l)) throw new ImportFormatError(`${where('requests', status)}: expected a list`, { hint })
      l.forEach((r, i) => {
        const type = (r as { type_?: unknown }).type_
        if (type !== undefined && !(REQUEST_TYPES as readonly unknown[]).includes(type)) {
          throw new ImportFormatError(`${where('requests', status, i, 'type_')}: unknown request type ${JSON.stringify(type)}`, { hint })
        }
      })
      return l as Record<string, unknown>[]
    }
    const startMs = startS * 1000
    const toNs = (s: number | null): number | null => (s === null ? null : s * 1e9 - startS * 1e9)
    const rows: { sentAtNs: number; t: Timing; status: 'successful' | 'incomplete' | 'errored' }[] = []
    for (const status of ['successful', 'incomplete', 'errored'] as const) {
      list(status).forEach((r, i) => {
        const t = timingOf(r)
        if (t.startS === null) throw new ImportFormatError(`${where('requests', status, i)}: no request start time (info.timings.request_start or start_time)`, { hint })
        if (status === 'successful' && t.output === null) throw new ImportFormatError(`${where('requests', status, i, 'output_tokens')}: missing`, { hint })
        rows.push({ sentAtNs: toNs(t.startS) as number, t, status })
      })
    }
    rows.sort((a, b) => a.sentAtNs - b.sentAtNs)
    const records: RequestRecord[] = rows.map((row, seq) => {
      const out = row.t.output ?? 0
      const ok = row.status === 'successful'
      const chunks = firstLastChunks(toNs(row.t.firstS), toNs(row.t.lastS), ok ? out : 0)
      return importedRecord({
        seq,
        sentAtNs: row.sentAtNs,
        ...chunks,
        lastByteAtNs: toNs(row.t.endS),
        inputTokens: row.t.prompt,
        outputTokens: ok ? out : null,
        tokenSource: 'server-usage',
        error: ok ? null : row.status === 'incomplete' ? { kind: 'stream_cut', message: 'incomplete (GuideLLM cancelled or cut it at the end of the benchmark)' } : { kind: 'http_status', message: 'errored (as GuideLLM recorded it)' },
      })
    })
    const made = (sched?.requests_made ?? bench.request_totals) as Record<string, unknown> | undefined
    const successful = num(made?.successful) ?? list('successful').length
    const failed = (num(made?.errored) ?? list('errored').length) + (num(made?.incomplete) ?? list('incomplete').length)
    const metrics = bench.metrics as Record<string, { successful?: { total_sum?: unknown } } | undefined> | undefined
    const ok = records.filter((r) => r.error === null)
    const listedOut = ok.reduce((a, r) => a + (r.outputTokens ?? 0), 0)
    const listedIn = ok.reduce((a, r) => a + (r.inputTokens ?? 0), 0)
    const output = num(metrics?.output_token_count?.successful?.total_sum) ?? listedOut
    const input = num(metrics?.prompt_token_count?.successful?.total_sum) ?? listedIn
    const warnings: string[] = []
    if (ok.length < successful) {
      warnings.push(`GuideLLM kept ${ok.length} of ${successful} successful requests (sampled): latency percentiles are over the sample, token totals from its metrics`)
      if (num(metrics?.output_token_count?.successful?.total_sum) === null) throw new ImportFormatError(`${where('metrics', 'output_token_count', 'successful', 'total_sum')}: missing, and the request list is a sample`, { hint: 'tokens/J needs the total output tokens of the benchmark' })
    }
    const args = (doc as { args?: { model?: unknown; target?: unknown } }).args
    const model = typeof args?.model === 'string' ? args.model : 'unknown'
    const strategy = ((bench.config as { strategy?: { type_?: unknown; streams?: unknown; rate?: unknown } } | undefined)?.strategy ?? (bench.args as { strategy?: { type_?: unknown; streams?: unknown; rate?: unknown } } | undefined)?.strategy) ?? {}
    const type = typeof strategy.type_ === 'string' ? strategy.type_ : 'unknown'
    const streams = num(strategy.streams)
    const rate = num(strategy.rate)
    return {
      format: 'guidellm',
      tool: { name: 'guidellm', version: list('successful').some((r) => r.info !== undefined) ? GUIDELLM_SUPPORTED[1] : GUIDELLM_SUPPORTED[0] },
      model,
      endpoint: typeof args?.target === 'string' ? args.target : null,
      startWallMs: startMs,
      durationS: endS - startS,
      requests: { completed: successful, failed },
      tokens: { input, output },
      load: { concurrency: type === 'concurrent' ? streams : type === 'synchronous' ? 1 : null, rate },
      samples: samplesFromRecords(records),
      means: { ttftMs: null, tpotMs: null, itlMs: null, e2eMs: null },
      unavailable: ['per-chunk times (GuideLLM keeps first and last token times: inter-token latency is each request\'s mean)'],
      warnings,
      records,
      tokenSource: 'server-usage',
      spanKnown: true,
      power: null,
      benchmark: `benchmark ${bi} (${type}${rate !== null ? ` ${rate} req/s` : streams !== null ? ` ${streams} streams` : ''})`,
    }
  })
}
