import { latencySamples, requestsEndedIn, requestTimings } from '../analysis/request-metrics.js'
import type { RequestRecord } from '../records.js'
import type { RunSummary } from '../summary.js'

/**
 * A stored tokenwatt run in the shape `vllm bench serve --save-result --save-detailed` writes
 * (keys as in vllm/benchmarks/serve.py, see vllm.ts): the steady window's totals, and per-request
 * ttfts/itls (seconds) of the requests that ended inside it, so other tools' notebooks can read it
 * and `tokenwatt import vllm` reads it back to the same figures. Pure.
 */
export function exportVllmResult(summary: RunSummary, records: readonly RequestRecord[]): Record<string, unknown> {
  const measured = records.filter((r) => r.phase === 'measure')
  const startNs = summary.window.startS * 1e9
  const endNs = summary.window.endS * 1e9
  const ok = requestsEndedIn(measured, startNs, endNs).filter((r) => r.error === null)
  const lat = latencySamples(ok)
  const endWall = new Date(Date.parse(summary.startedAt) + summary.window.endS * 1000)
  const pad = (n: number): string => String(n).padStart(2, '0')
  const date = `${endWall.getUTCFullYear()}${pad(endWall.getUTCMonth() + 1)}${pad(endWall.getUTCDate())}-${pad(endWall.getUTCHours())}${pad(endWall.getUTCMinutes())}${pad(endWall.getUTCSeconds())}`
  const mean = (xs: readonly number[]): number | null => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length)
  const l = summary.latency
  return {
    date,
    endpoint_type: summary.target.api === 'chat' ? 'openai-chat' : 'openai',
    backend: 'openai',
    label: 'tokenwatt',
    model_id: summary.target.model,
    num_prompts: summary.requests.total,
    request_rate: summary.load.rate ?? 'inf',
    max_concurrency: summary.load.concurrency,
    duration: summary.window.durationS,
    completed: ok.length,
    failed: summary.requests.failed,
    total_input_tokens: summary.tokens.input,
    total_output_tokens: summary.tokens.output,
    request_throughput: summary.throughput.requestsPerS,
    output_throughput: summary.throughput.outputTokensPerS,
    total_token_throughput: summary.throughput.totalTokensPerS,
    input_lens: ok.map((r) => r.inputTokens ?? 0),
    output_lens: ok.map((r) => requestTimings(r).outputTokens),
    ttfts: ok.map((r) => ((r.chunkAtNs[0] ?? r.sentAtNs) - r.sentAtNs) / 1e9),
    itls: ok.map((r) => r.chunkAtNs.slice(1).map((t, i) => (t - (r.chunkAtNs[i] as number)) / 1e9)),
    generated_texts: ok.map(() => ''),
    errors: ok.map(() => ''),
    mean_ttft_ms: l.ttftMs.mean ?? mean(lat.ttftMs),
    median_ttft_ms: l.ttftMs.p50,
    p99_ttft_ms: l.ttftMs.p99,
    mean_tpot_ms: l.tpotMs.mean,
    median_tpot_ms: l.tpotMs.p50,
    p99_tpot_ms: l.tpotMs.p99,
    mean_itl_ms: l.itlMs.mean,
    median_itl_ms: l.itlMs.p50,
    p99_itl_ms: l.itlMs.p99,
    mean_e2el_ms: l.e2eMs.mean,
    median_e2el_ms: l.e2eMs.p50,
    p99_e2el_ms: l.e2eMs.p99,
  }
}
