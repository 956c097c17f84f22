/**
 * Which of a serving stack's own `/metrics` series carry its token counters, in-flight gauge and
 * latency histograms. Names were checked against each project's source and docs (see the `checked`
 * note of each preset); a `custom` mapping names them by hand.
 *
 * A token source is either a counter (`vllm:generation_tokens_total`) or the `_sum` of a per-request
 * histogram of token counts (TGI's `tgi_request_generated_tokens`): both only grow, so both are read
 * as counters with resets.
 */

export type ServerPresetId = 'vllm' | 'sglang' | 'tgi' | 'llamacpp' | 'dynamo' | 'custom'
export const SERVER_PRESET_IDS: readonly ServerPresetId[] = ['vllm', 'sglang', 'tgi', 'llamacpp', 'dynamo', 'custom']

/** A monotonic series: a counter sample name, or `<histogram>_sum`. */
export interface TokenSource {
  /** Exact sample name as exposed (with `_total` or `_sum`). */
  readonly metric: string
}

export interface ServerMetricsMapping {
  readonly outputTokens: TokenSource
  readonly inputTokens: TokenSource | null
  /** Gauge of requests being processed (summed over replicas); idle share uses it. */
  readonly running: string | null
  /** Histogram family names (without `_bucket`), in seconds. */
  readonly ttft: string | null
  readonly itl: string | null
  readonly e2e: string | null
}

export interface ServerPreset extends ServerMetricsMapping {
  readonly id: Exclude<ServerPresetId, 'custom'>
  readonly server: string
  /** Where and for which versions the names were checked. */
  readonly checked: string
}

export const SERVER_PRESETS: Readonly<Record<Exclude<ServerPresetId, 'custom'>, ServerPreset>> = {
  vllm: {
    id: 'vllm',
    server: 'vLLM',
    checked:
      'vllm-project/vllm docs/design/v1/metrics.md (v0 and V1 engine names; V1 is the default from 0.8): counters, `vllm:num_requests_running`, and `vllm:inter_token_latency_seconds`, the V1 ITL histogram that replaces the deprecated `vllm:time_per_output_token_seconds`',
    outputTokens: { metric: 'vllm:generation_tokens_total' },
    inputTokens: { metric: 'vllm:prompt_tokens_total' },
    running: 'vllm:num_requests_running',
    ttft: 'vllm:time_to_first_token_seconds',
    itl: 'vllm:inter_token_latency_seconds',
    e2e: 'vllm:e2e_request_latency_seconds',
  },
  sglang: {
    id: 'sglang',
    server: 'SGLang',
    checked:
      'sgl-project/sglang python/sglang/srt/metrics/collector.py (the Histogram `sglang:inter_token_latency_seconds` is defined there) and docs/references/production_metrics.md (0.4.x and later, served with `--enable-metrics`)',
    outputTokens: { metric: 'sglang:generation_tokens_total' },
    inputTokens: { metric: 'sglang:prompt_tokens_total' },
    running: 'sglang:num_running_reqs',
    ttft: 'sglang:time_to_first_token_seconds',
    itl: 'sglang:inter_token_latency_seconds',
    e2e: 'sglang:e2e_request_latency_seconds',
  },
  tgi: {
    id: 'tgi',
    server: 'Text Generation Inference',
    checked:
      'huggingface/text-generation-inference docs reference/metrics (TGI 2.x–3.x router): per-request token histograms `tgi_request_generated_tokens` and `tgi_request_input_length`, read through their `_sum`; `tgi_request_duration` (e2e); no TTFT or ITL histogram is exported',
    outputTokens: { metric: 'tgi_request_generated_tokens_sum' },
    inputTokens: { metric: 'tgi_request_input_length_sum' },
    running: 'tgi_batch_current_size',
    ttft: null,
    itl: null,
    e2e: 'tgi_request_duration',
  },
  llamacpp: {
    id: 'llamacpp',
    server: 'llama.cpp server',
    checked:
      'ggml-org/llama.cpp server `/metrics` (with `--metrics`), as its exposition output shows and as the embedded llama-server build of this repo serves it (test/monitor/monitor-llama-server.test.ts): counters and gauges only, no latency histograms',
    outputTokens: { metric: 'llamacpp:tokens_predicted_total' },
    inputTokens: { metric: 'llamacpp:prompt_tokens_total' },
    running: 'llamacpp:requests_processing',
    ttft: null,
    itl: null,
    e2e: null,
  },
  dynamo: {
    id: 'dynamo',
    server: 'NVIDIA Dynamo frontend',
    checked:
      'ai-dynamo/dynamo docs/observability/metrics.md (HTTP frontend, `dynamo_frontend_*`, `model` label): `dynamo_frontend_output_tokens_total` counter; input tokens through the `dynamo_frontend_input_sequence_tokens` histogram `_sum`',
    outputTokens: { metric: 'dynamo_frontend_output_tokens_total' },
    inputTokens: { metric: 'dynamo_frontend_input_sequence_tokens_sum' },
    running: 'dynamo_frontend_inflight_requests',
    ttft: 'dynamo_frontend_time_to_first_token_seconds',
    itl: 'dynamo_frontend_inter_token_latency_seconds',
    e2e: 'dynamo_frontend_request_duration_seconds',
  },
}

/** The histogram kinds a mapping may name, in the order reports list them. */
export const LATENCY_KINDS = ['ttft', 'itl', 'e2e'] as const
export type LatencyKind = (typeof LATENCY_KINDS)[number]
