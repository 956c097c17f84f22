import { defineMetric } from '../define-metric.js'

const window = 'Over successful requests that ended inside the steady window.'

export const timeToFirstToken = defineMetric({
  id: 'time_to_first_token',
  title: 'Time to first token (TTFT)',
  kind: 'distribution',
  unit: 'ms',
  better: 'lower',
  summaryPath: 'latency.ttftMs',
  doc: {
    summary: 'Time from sending a request to the arrival of its first content-bearing chunk.',
    formula: 'first_content_chunk_at - sent_at',
    notes: [window, 'Connection set-up is measured apart (client_connect_time): the keep-alive pool is warmed before the window.', 'Chunks with only a role or empty content do not count; reasoning content does.'],
  },
})

export const interTokenLatency = defineMetric({
  id: 'inter_token_latency',
  title: 'Inter-token latency (ITL)',
  kind: 'distribution',
  unit: 'ms',
  better: 'lower',
  summaryPath: 'latency.itlMs',
  doc: {
    summary: 'Gap between consecutive content chunks of a request, divided by the tokens the later chunk carried.',
    formula: '(chunk_at[i] - chunk_at[i-1]) / tokens_in_chunk[i], pooled over all gaps',
    notes: [window, 'Tokens per chunk come from server per-chunk usage when given; otherwise the server usage total is spread evenly over the chunks.'],
  },
})

export const timePerOutputToken = defineMetric({
  id: 'time_per_output_token',
  title: 'Time per output token (TPOT)',
  kind: 'distribution',
  unit: 'ms',
  better: 'lower',
  summaryPath: 'latency.tpotMs',
  requires: ['time_to_first_token', 'request_latency'],
  doc: {
    summary: 'Per request, the mean time per generated token after the first.',
    formula: '(e2e - ttft) / (output_tokens - 1)',
    notes: [window, 'Requests with fewer than 2 output tokens have no TPOT. Same definition as vLLM TPOT, AIPerf ITL and InferenceX.'],
  },
})

export const requestLatency = defineMetric({
  id: 'request_latency',
  title: 'End-to-end request latency',
  kind: 'distribution',
  unit: 'ms',
  better: 'lower',
  summaryPath: 'latency.e2eMs',
  doc: { summary: 'Time from sending a request to the last byte of its response.', formula: 'last_byte_at - sent_at', notes: [window] },
})

export const interactivity = defineMetric({
  id: 'interactivity',
  title: 'Interactivity (tokens/s per user)',
  kind: 'distribution',
  unit: 'tokens/s',
  better: 'higher',
  summaryPath: 'latency.interactivityTokPerS',
  requires: ['time_per_output_token'],
  doc: { summary: 'Decode speed one user sees.', formula: '1 / tpot', notes: [window, 'InferenceX plots cost and efficiency against this.'] },
})

export const scheduleLag = defineMetric({
  id: 'schedule_lag',
  title: 'Schedule lag',
  kind: 'distribution',
  unit: 'ms',
  better: 'lower',
  summaryPath: 'load.scheduleLagMs',
  doc: {
    summary: 'Open loop: how late each request was sent relative to its scheduled arrival.',
    formula: 'sent_at - scheduled_at',
    notes: [
      'Arrivals are absolute offsets from the load start; lateness never accumulates. Closed loop: empty.',
      'Open loop, trace replay and session turns: each request is built ahead and handed to the client its send lead early (the measured time from hand-over to write, at most 2 ms); the client writes it no earlier than its instant, so this is how late the write was, not how long the client took to get ready.',
    ],
  },
})

export const clientConnectTime = defineMetric({
  id: 'client_connect_time',
  title: 'Connection set-up time',
  kind: 'distribution',
  unit: 'ms',
  better: 'lower',
  summaryPath: 'client.connectMs',
  doc: { summary: 'TCP (and TLS) set-up time of each connection the client opened, reported apart from TTFT.', formula: 'connected_at - connect_started_at' },
})

export const LATENCY_METRICS = [timeToFirstToken, interTokenLatency, timePerOutputToken, requestLatency, interactivity, scheduleLag, clientConnectTime] as const
