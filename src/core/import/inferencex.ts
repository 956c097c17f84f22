/**
 * InferenceX (formerly InferenceMAX) aggregate result, `agg_<run>.json`: written by
 * SemiAnalysisAI/InferenceX `utils/process_result.py` (hw, tp, ep, dp_attention, conc, model,
 * framework, precision, tput_per_gpu and output_tput_per_gpu = vLLM's total/output throughput ÷ tp,
 * every `*_ms` latency of the raw result in seconds without the suffix — mean_ttft, median_tpot,
 * p99_e2el — and `*_intvty` = 1000 / the matching tpot ms) and patched by `utils/aggregate_power.py`
 * (power_valid 1/0; when valid avg_power_w per GPU, avg_total_gpu_power_w, total_gpu_energy_j,
 * joules_per_output_token, joules_per_total_token, joules_per_successful_query: GPU-board power from
 * nvidia-smi/amd-smi integrated per device over the benchmark window). Summary only. The aggregate
 * keeps no times and no totals; with valid power the window length is energy ÷ average power and the
 * totals are energy ÷ the per-token figures, and that energy is the run's measured power source.
 * Without power the raw benchmark_serving result is the file to import (`tokenwatt import vllm`).
 */
import { EMPTY_STATS } from '../analysis/stats.js'
import type { Stats } from '../summary.js'
import { ImportFormatError, located, parseJsonText, type ImportedRun } from './imported-run.js'

export const INFERENCEX_SUPPORTED = ['InferenceX agg_<run>.json (utils/process_result.py + utils/aggregate_power.py, 2025–2026)'] as const

export interface InferencexImportOptions {
  readonly fileName?: string
  /** The run's start (wall ms), which the aggregate does not record. */
  readonly startWallMs?: number
}

const str = (x: unknown): string | null => (typeof x === 'string' ? x : null)

export function parseInferencexResult(text: string, opts: InferencexImportOptions = {}): ImportedRun {
  const file = opts.fileName ?? 'agg result'
  const doc = parseJsonText(text, file)
  const hint = `supported: ${INFERENCEX_SUPPORTED.join(', ')}`
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new ImportFormatError(`${file}: expected one JSON object (an InferenceX agg result)`, { hint })
  const o = doc as Record<string, unknown>
  const where = (k: string): string => located(text, file, [k])
  const opt = (k: string): number | null => {
    const v = o[k]
    if (v === undefined || v === null) return null
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ImportFormatError(`${where(k)}: expected a number, got ${JSON.stringify(v)}`, { hint })
    return v
  }
  const need = (k: string, why: string): number => {
    const v = opt(k)
    if (v === null || v <= 0) throw new ImportFormatError(`${where(k)}: ${v === null ? 'missing' : `expected a positive number, got ${v}`}`, { hint: why })
    return v
  }
  if (!('tput_per_gpu' in o) || !('tp' in o)) {
    throw new ImportFormatError(`${file}: not an InferenceX aggregate result (no "tput_per_gpu"/"tp")`, {
      hint: `${hint}; the raw benchmark_serving result is vLLM's shape: tokenwatt import vllm FILE`,
    })
  }
  const tp = need('tp', 'the aggregate divides throughput by tp')
  const outputTokPerGpuS = need('output_tput_per_gpu', 'the output throughput per GPU')
  const totalTokPerGpuS = need('tput_per_gpu', 'the total throughput per GPU')
  const valid = opt('power_valid')
  if (valid !== 1) {
    throw new ImportFormatError(`${where('power_valid')}: ${valid === null ? 'absent' : `is ${valid}`}: this aggregate has no valid power figures, and without them it holds no window length or token totals`, {
      hint: 'import the raw benchmark_serving result it was made from instead: tokenwatt import vllm RESULT.json --power gpu_metrics.csv',
    })
  }
  const energyJ = need('total_gpu_energy_j', 'InferenceX writes it with power_valid: 1')
  const totalW = need('avg_total_gpu_power_w', 'InferenceX writes it with power_valid: 1')
  const jPerOut = need('joules_per_output_token', 'InferenceX writes it with power_valid: 1')
  const jPerTotal = opt('joules_per_total_token')
  const jPerQuery = opt('joules_per_successful_query')
  const durationS = energyJ / totalW
  const output = Math.round(energyJ / jPerOut)
  const total = jPerTotal !== null && jPerTotal > 0 ? Math.round(energyJ / jPerTotal) : null
  const warnings: string[] = []
  // The aggregate's own consistency: throughput × window vs energy ÷ J/token (rounded in the file).
  const fromThroughput = outputTokPerGpuS * tp * durationS
  if (Math.abs(fromThroughput - output) > Math.max(1, 0.02 * output)) {
    warnings.push(`output tokens from energy ÷ joules_per_output_token (${output}) and from output_tput_per_gpu × tp × window (${Math.round(fromThroughput)}) differ by more than 2 %`)
  }
  const s = (base: string): Stats | null => {
    const mean = opt(`mean_${base}`)
    if (mean === null) return null
    const ms = (x: number | null): number | null => (x === null ? null : x * 1000)
    return { ...EMPTY_STATS, mean: mean * 1000, p50: ms(opt(`median_${base}`)), p90: ms(opt(`p90_${base}`)), p95: ms(opt(`p95_${base}`)), p99: ms(opt(`p99_${base}`)), stddev: ms(opt(`std_${base}`)) }
  }
  const ttft = s('ttft')
  const tpot = s('tpot')
  const itl = s('itl')
  const e2e = s('e2el')
  const startWallMs = opts.startWallMs ?? 0
  const durationNs = durationS * 1e9
  const gpus = Math.round(totalW / need('avg_power_w', 'InferenceX writes it with power_valid: 1'))
  const meterId = 'inferencex'
  const channel = 'gpus'
  return {
    format: 'inferencex',
    tool: { name: 'inferencex', version: INFERENCEX_SUPPORTED[0] },
    model: typeof o.model === 'string' ? o.model : 'unknown',
    endpoint: null,
    startWallMs,
    durationS,
    requests: { completed: jPerQuery !== null && jPerQuery > 0 ? Math.round(energyJ / jPerQuery) : 0, failed: null },
    tokens: { input: total !== null ? Math.max(0, total - output) : Math.round((totalTokPerGpuS - outputTokPerGpuS) * tp * durationS), output },
    load: { concurrency: opt('conc'), rate: null },
    samples: { ttftMs: [], tpotMs: [], itlMs: [], e2eMs: [], inputTokens: [], outputTokens: [] },
    means: { ttftMs: ttft?.mean ?? null, tpotMs: tpot?.mean ?? null, itlMs: itl?.mean ?? null, e2eMs: e2e?.mean ?? null },
    toolStats: { ...(ttft ? { ttftMs: ttft } : {}), ...(tpot ? { tpotMs: tpot } : {}), ...(itl ? { itlMs: itl } : {}), ...(e2e ? { e2eMs: e2e } : {}) },
    unavailable: [
      'per-request records (the aggregate keeps summary figures only)',
      'the wall-clock span (the window length is total_gpu_energy_j ÷ avg_total_gpu_power_w)',
      ...(jPerQuery === null ? ['the request count (no joules_per_successful_query)'] : []),
      'the failed-request count',
    ],
    warnings: [...warnings, `${str(o.hw) ?? 'unknown hardware'} × ${gpus} GPU(s), ${str(o.framework) ?? '?'} ${str(o.precision) ?? ''}: power is InferenceX's own GPU-board measurement (device boundary)`],
    records: [],
    tokenSource: 'server-usage',
    spanKnown: opts.startWallMs !== undefined,
    power: {
      info: {
        id: meterId,
        kind: 'file',
        boundary: 'device',
        hasCounter: true,
        periodMs: durationS * 1000,
        averagingWindowMs: 0,
        accuracyRel: 0.05,
        accuracyW: 0,
        estimated: false,
        description: `InferenceX aggregate_power.py: ${gpus} GPU board(s), per-device trapezoid over the benchmark window (${file})`,
      },
      samples: [
        { meterId, channel, atNs: 0, sourceTimeMs: null, powerW: totalW, energyJ: 0 },
        { meterId, channel, atNs: durationNs, sourceTimeMs: null, powerW: totalW, energyJ },
      ],
    },
    benchmark: null,
  }
}
