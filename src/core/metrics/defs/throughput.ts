import { defineMetric } from '../define-metric.js'

const byArrival = 'Tokens are counted by the arrival time of the chunk that carried them, inside the steady window — not by request completion.'

export const outputTokenThroughput = defineMetric({
  id: 'output_token_throughput',
  title: 'Output token throughput',
  kind: 'aggregate',
  unit: 'tokens/s',
  better: 'higher',
  summaryPath: 'throughput.outputTokensPerS',
  requires: ['window_output_tokens', 'window_duration'],
  doc: { summary: 'Generated tokens delivered per second in the steady window.', formula: 'window_output_tokens / window_duration', notes: [byArrival] },
})

export const totalTokenThroughput = defineMetric({
  id: 'total_token_throughput',
  title: 'Total token throughput',
  kind: 'aggregate',
  unit: 'tokens/s',
  better: 'higher',
  summaryPath: 'throughput.totalTokensPerS',
  requires: ['window_output_tokens', 'window_input_tokens', 'window_duration'],
  doc: {
    summary: 'Input plus output tokens processed per second in the steady window.',
    formula: '(window_input_tokens + window_output_tokens) / window_duration',
    notes: [byArrival, "A request's input tokens count when its first token arrives (prefill done)."],
  },
})

export const requestThroughput = defineMetric({
  id: 'request_throughput',
  title: 'Request throughput',
  kind: 'aggregate',
  unit: 'requests/s',
  better: 'higher',
  summaryPath: 'throughput.requestsPerS',
  doc: { summary: 'Successful requests completed per second in the steady window.', formula: 'succeeded_requests_ended_in_window / window_duration' },
})

export const windowDuration = defineMetric({
  id: 'window_duration',
  title: 'Steady window duration',
  kind: 'aggregate',
  unit: 's',
  better: 'none',
  summaryPath: 'window.durationS',
  doc: {
    summary: 'Length of the steady-state window every efficiency figure is computed over.',
    formula: 'window.endS - window.startS',
    notes: [
      'Closed loop: from when all users are in flight to the last send (drain excluded); open loop: first to last arrival.',
      'Inside that plateau the MSER-5 rule truncates the warm-up transient of the output-token rate. window.method says which rule applied.',
    ],
  },
})

export const windowOutputTokens = defineMetric({
  id: 'window_output_tokens',
  title: 'Output tokens in window',
  kind: 'aggregate',
  unit: 'tokens',
  better: 'none',
  summaryPath: 'tokens.output',
  doc: {
    summary: 'Output tokens whose chunks arrived inside the window.',
    formula: 'sum(tokens_in_chunk for chunks with arrival in window)',
    notes: ['Counts come from server usage when given (tokens.source), else from content chunks.'],
  },
})

export const windowInputTokens = defineMetric({
  id: 'window_input_tokens',
  title: 'Input tokens in window',
  kind: 'aggregate',
  unit: 'tokens',
  better: 'none',
  summaryPath: 'tokens.input',
  doc: { summary: 'Prompt tokens (server usage) of requests whose first token arrived inside the window.', formula: 'sum(prompt_tokens)' },
})

export const errorRate = defineMetric({
  id: 'failed_requests',
  title: 'Failed requests',
  kind: 'aggregate',
  unit: 'requests',
  better: 'lower',
  summaryPath: 'requests.failed',
  doc: {
    summary: 'Measured requests that failed, of any kind; requests.errorsByKind splits them. Requests the run itself cancelled (Ctrl-C) are counted apart, in requests.aborted.',
    formula: 'count(error != null)',
    notes: ['Kinds: http_status, rate_limited, connect, headers_timeout, idle_timeout, total_timeout, stream_cut, malformed_sse, missing_usage, aborted.'],
  },
})

export const droppedArrivals = defineMetric({
  id: 'dropped_arrivals',
  title: 'Dropped arrivals',
  kind: 'aggregate',
  unit: 'requests',
  better: 'lower',
  summaryPath: 'requests.droppedArrivals',
  doc: { summary: 'Open loop: scheduled arrivals not sent because load.maxConcurrency requests were already in flight.', formula: 'count' },
})

export const meanInFlight = defineMetric({
  id: 'mean_in_flight',
  title: 'Mean requests in flight',
  kind: 'aggregate',
  unit: 'requests',
  better: 'none',
  summaryPath: 'load.meanInFlight',
  doc: { summary: 'Time-weighted mean number of requests in flight over the window.', formula: 'sum(overlap(request, window)) / window_duration' },
})

export const sloAttainment = defineMetric({
  id: 'slo_attainment',
  title: 'SLO attainment',
  kind: 'aggregate',
  unit: '1',
  better: 'higher',
  summaryPath: 'slo.attainment',
  doc: {
    summary: 'Share of requests ended in the window (failures included) that met every configured bound (TTFT, TPOT, E2E).',
    formula: 'good_requests / requests_ended_in_window',
    notes: ['null when no SLO is configured.'],
  },
})

export const goodput = defineMetric({
  id: 'goodput',
  title: 'Goodput',
  kind: 'aggregate',
  unit: 'requests/s',
  better: 'higher',
  summaryPath: 'slo.goodputRequestsPerS',
  doc: { summary: 'Requests per second that met every SLO bound (vLLM and AIPerf define it the same way).', formula: 'good_requests / window_duration' },
})

export const goodOutputThroughput = defineMetric({
  id: 'good_output_token_throughput',
  title: 'Good output token throughput',
  kind: 'aggregate',
  unit: 'tokens/s',
  better: 'higher',
  summaryPath: 'slo.goodOutputTokensPerS',
  doc: { summary: 'Output tokens per second of requests that met every SLO bound.', formula: 'sum(output_tokens of good requests) / window_duration' },
})

export const clientCpu = defineMetric({
  id: 'client_cpu_utilization',
  title: 'Load generator CPU',
  kind: 'aggregate',
  unit: 'cores',
  better: 'lower',
  summaryPath: 'client.cpuUtilization',
  doc: {
    summary: "CPU time the load generator's process used per second of the run.",
    formula: 'process_cpu_time / wall_time',
    notes: ['At 0.9 cores or an event-loop delay p99 of 20 ms or more, the run warns that the client may have been the limit.'],
  },
})

export const THROUGHPUT_METRICS = [
  outputTokenThroughput,
  totalTokenThroughput,
  requestThroughput,
  windowDuration,
  windowOutputTokens,
  windowInputTokens,
  errorRate,
  droppedArrivals,
  meanInFlight,
  sloAttainment,
  goodput,
  goodOutputThroughput,
  clientCpu,
] as const
