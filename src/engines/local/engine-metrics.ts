/**
 * Server-side counters in the names llama.cpp's llama-server exports on `/metrics` (the
 * `llamacpp:` prefix), so a passive monitor reads our engine and upstream llama-server the same
 * way. Counters only count what this server did; nothing is estimated.
 */

export interface EngineMetricsSnapshot {
  readonly promptTokensTotal: number
  readonly promptSecondsTotal: number
  readonly tokensPredictedTotal: number
  readonly tokensPredictedSecondsTotal: number
  readonly nTokensMax: number
  readonly requestsTotal: number
  readonly requestsAbortedTotal: number
  readonly requestsFailedTotal: number
}

interface MetricLine {
  readonly name: string
  readonly type: 'counter' | 'gauge'
  readonly help: string
  readonly value: number
}

export class EngineMetrics {
  private promptTokens = 0
  private promptSeconds = 0
  private predictedTokens = 0
  private predictedSeconds = 0
  private maxTokens = 0
  private requests = 0
  private aborted = 0
  private failed = 0

  /** Records one finished (or aborted) generation. */
  record(r: { promptTokens: number; promptS: number; predictedTokens: number; predictedS: number; outcome: 'ok' | 'aborted' | 'failed' }): void {
    this.promptTokens += r.promptTokens
    this.promptSeconds += r.promptS
    this.predictedTokens += r.predictedTokens
    this.predictedSeconds += r.predictedS
    this.maxTokens = Math.max(this.maxTokens, r.promptTokens + r.predictedTokens)
    this.requests += 1
    if (r.outcome === 'aborted') this.aborted += 1
    if (r.outcome === 'failed') this.failed += 1
  }

  snapshot(): EngineMetricsSnapshot {
    return {
      promptTokensTotal: this.promptTokens,
      promptSecondsTotal: this.promptSeconds,
      tokensPredictedTotal: this.predictedTokens,
      tokensPredictedSecondsTotal: this.predictedSeconds,
      nTokensMax: this.maxTokens,
      requestsTotal: this.requests,
      requestsAbortedTotal: this.aborted,
      requestsFailedTotal: this.failed,
    }
  }

  /** Prometheus text exposition (version 0.0.4). */
  render(live: { processing: number; deferred: number; slots: number }): string {
    const s = this.snapshot()
    const lines: MetricLine[] = [
      { name: 'llamacpp:prompt_tokens_total', type: 'counter', help: 'Number of prompt tokens processed.', value: s.promptTokensTotal },
      { name: 'llamacpp:prompt_seconds_total', type: 'counter', help: 'Total time spent processing prompts.', value: s.promptSecondsTotal },
      { name: 'llamacpp:tokens_predicted_total', type: 'counter', help: 'Number of generation tokens processed.', value: s.tokensPredictedTotal },
      { name: 'llamacpp:tokens_predicted_seconds_total', type: 'counter', help: 'Total time spent generating tokens.', value: s.tokensPredictedSecondsTotal },
      { name: 'llamacpp:n_tokens_max', type: 'counter', help: 'Largest observed sequence length (prompt + generation).', value: s.nTokensMax },
      { name: 'llamacpp:prompt_tokens_seconds', type: 'gauge', help: 'Average prompt throughput in tokens/s since start.', value: rate(s.promptTokensTotal, s.promptSecondsTotal) },
      { name: 'llamacpp:predicted_tokens_seconds', type: 'gauge', help: 'Average generation throughput in tokens/s per request since start.', value: rate(s.tokensPredictedTotal, s.tokensPredictedSecondsTotal) },
      { name: 'llamacpp:requests_processing', type: 'gauge', help: 'Number of requests processing.', value: live.processing },
      { name: 'llamacpp:requests_deferred', type: 'gauge', help: 'Number of requests deferred.', value: live.deferred },
      { name: 'tokenwatt_engine_slots', type: 'gauge', help: 'Number of parallel sequences (slots) in the context.', value: live.slots },
      { name: 'tokenwatt_engine_requests_total', type: 'counter', help: 'Generation requests finished, aborted or failed.', value: s.requestsTotal },
      { name: 'tokenwatt_engine_requests_aborted_total', type: 'counter', help: 'Generation requests stopped because the client went away.', value: s.requestsAbortedTotal },
      { name: 'tokenwatt_engine_requests_failed_total', type: 'counter', help: 'Generation requests that failed inside the engine.', value: s.requestsFailedTotal },
    ]
    return lines.map((m) => `# HELP ${m.name} ${m.help}\n# TYPE ${m.name} ${m.type}\n${m.name} ${formatValue(m.value)}\n`).join('')
  }
}

function rate(count: number, seconds: number): number {
  return seconds > 0 ? count / seconds : 0
}

function formatValue(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(9)
}
