/**
 * vLLM `vllm bench serve --save-result` JSON (and `--save-detailed`). Keys checked against
 * vllm-project/vllm `vllm/benchmarks/serve.py` (commits def9ce85 / 009e6d4a, vLLM 0.11–0.12 line):
 * date ("%Y%m%d-%H%M%S", written when the run ends, local time), backend/endpoint_type, model_id,
 * num_prompts, request_rate, max_concurrency, duration (s), completed, failed, total_input_tokens,
 * total_output_tokens, request_throughput, output_throughput, mean_/median_/p99_{ttft,tpot,itl,e2el}_ms;
 * with --save-detailed also input_lens, output_lens, ttfts (s), itls (s, one list per request),
 * generated_texts, errors. The older benchmarks/benchmark_serving.py wrote the same keys. InferenceX's
 * fork (SemiAnalysisAI/InferenceX utils/bench_serving/benchmark_serving.py) adds
 * benchmark_start_time_unix / benchmark_end_time_unix (epoch s), used as the exact span when present.
 */
import { ImportFormatError, located, parseJsonText, type ImportedRun } from './imported-run.js'

/** Result shapes this parser knows: the keys above have been stable since benchmark_serving.py. */
export const VLLM_SUPPORTED = ['benchmark_serving.py (vLLM ≤0.9)', 'vllm bench serve (vLLM 0.9–0.12)'] as const

export interface VllmImportOptions {
  /** The run's start (wall ms) when known; otherwise `date` − `duration`, `date` read as UTC. */
  readonly startWallMs?: number
  readonly fileName?: string
}

export function parseVllmResult(text: string, opts: VllmImportOptions = {}): ImportedRun {
  const file = opts.fileName ?? 'vllm result'
  const doc = parseJsonText(text, file)
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new ImportFormatError(`${file}: expected one JSON object (vllm bench serve --save-result)`, { hint: `supported: ${VLLM_SUPPORTED.join(', ')}` })
  const o = doc as Record<string, unknown>
  const where = (k: string): string => located(text, file, [k])
  const need = (k: string): number => {
    const v = o[k]
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ImportFormatError(`${where(k)}: ${v === undefined ? 'missing' : `expected a number, got ${JSON.stringify(v)}`}`, {
        hint: `a vLLM --save-result file has ${k}; supported: ${VLLM_SUPPORTED.join(', ')}`,
      })
    }
    return v
  }
  const opt = (k: string): number | null => {
    const v = o[k]
    return typeof v === 'number' && Number.isFinite(v) ? v : null
  }
  const numList = (k: string, scale: number): number[] | null => {
    const v = o[k]
    if (v === undefined) return null
    if (!Array.isArray(v)) throw new ImportFormatError(`${where(k)}: expected a list`, { hint: 'written by --save-detailed' })
    return v.map((x, i) => {
      if (typeof x !== 'number') throw new ImportFormatError(`${where(k)}[${i}]: expected a number, got ${JSON.stringify(x)}`)
      return x * scale
    })
  }
  if (!('completed' in o) || !('duration' in o)) {
    throw new ImportFormatError(`${file}: not a vLLM serving result (no "completed"/"duration")`, { hint: `supported versions: ${VLLM_SUPPORTED.join(', ')}` })
  }
  const durationS = need('duration')
  const completed = need('completed')
  const warnings: string[] = []
  let startWallMs = opts.startWallMs
  // InferenceX's benchmark_serving.py adds the exact span (utils/aggregate_power.py reads it).
  const exactStart = opt('benchmark_start_time_unix')
  if (startWallMs === undefined && exactStart !== null) startWallMs = exactStart * 1000
  if (startWallMs === undefined) {
    const date = o.date
    const m = typeof date === 'string' ? /^(\d{4})(\d\d)(\d\d)-(\d\d)(\d\d)(\d\d)$/.exec(date) : null
    if (!m) throw new ImportFormatError(`${where('date')}: expected "YYYYMMDD-HHMMSS", got ${JSON.stringify(date)}`, { hint: 'or give the run start with --start ISO-TIME' })
    const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number]
    startWallMs = Date.UTC(y, mo - 1, d, h, mi, s) - durationS * 1000
    warnings.push(`vLLM writes "date" in the benchmark host's local time with 1-s resolution; it was read as UTC (pass --start ISO-TIME if the host was not on UTC)`)
  }
  const ttfts = numList('ttfts', 1000) ?? []
  const itlLists = o.itls
  const itlMs: number[] = []
  const tpotMs: number[] = []
  const e2eMs: number[] = []
  const outLens = numList('output_lens', 1) ?? []
  const errors = Array.isArray(o.errors) ? o.errors : []
  if (Array.isArray(itlLists)) {
    itlLists.forEach((l, i) => {
      if (!Array.isArray(l)) throw new ImportFormatError(`${where('itls')}[${i}]: expected a list of seconds`)
      const failed = typeof errors[i] === 'string' && errors[i] !== ''
      const ttft = ttfts[i]
      if (failed || ttft === undefined || ttft <= 0) return
      let sum = 0
      for (const x of l) {
        if (typeof x !== 'number') throw new ImportFormatError(`${where('itls')}[${i}]: expected numbers`)
        itlMs.push(x * 1000)
        sum += x * 1000
      }
      e2eMs.push(ttft + sum)
      const n = outLens[i] ?? 0
      if (n > 1) tpotMs.push(sum / (n - 1))
    })
  }
  const detailed = ttfts.length > 0
  const okTtft = detailed ? ttfts.filter((t, i) => t > 0 && !(typeof errors[i] === 'string' && errors[i] !== '')) : []
  const unavailable: string[] = []
  if (!detailed) unavailable.push('per-request latency (run vllm bench serve with --save-detailed)', 'latency percentiles other than those vLLM wrote')
  const inLens = numList('input_lens', 1) ?? []
  const model = typeof o.model_id === 'string' ? o.model_id : 'unknown'
  return {
    format: 'vllm',
    tool: { name: 'vllm bench serve', version: typeof o.vllm_version === 'string' ? o.vllm_version : VLLM_SUPPORTED[1] },
    model,
    endpoint: null,
    startWallMs,
    durationS,
    requests: { completed, failed: opt('failed') },
    tokens: { input: need('total_input_tokens'), output: need('total_output_tokens') },
    load: { concurrency: opt('max_concurrency'), rate: opt('request_rate') },
    samples: {
      ttftMs: okTtft,
      tpotMs,
      itlMs,
      e2eMs,
      inputTokens: inLens.filter((_, i) => (ttfts[i] ?? 0) > 0),
      outputTokens: outLens.filter((_, i) => (ttfts[i] ?? 0) > 0),
    },
    means: { ttftMs: opt('mean_ttft_ms'), tpotMs: opt('mean_tpot_ms'), itlMs: opt('mean_itl_ms'), e2eMs: opt('mean_e2el_ms') },
    unavailable: [...unavailable, 'per-request send times (vLLM keeps per-request latencies, not timestamps), so no per-request records are stored'],
    warnings,
    records: [],
    tokenSource: 'server-usage',
    spanKnown: true,
    power: null,
    benchmark: null,
  }
}
