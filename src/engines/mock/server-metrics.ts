/**
 * The mock's own `/metrics`, in vLLM's names (`vllm:` prefix, `model_name` label, Prometheus text
 * format 0.0.4 as prometheus_client writes it), so `tokenwatt monitor --preset vllm` can be checked
 * against a server whose every token is known. Counts only what the mock actually wrote: a content
 * chunk's tokens when the chunk is written, prompt tokens when the first chunk goes out.
 */
const TTFT_BUCKETS_S = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
const E2E_BUCKETS_S = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60]

class Histogram {
  private readonly counts: number[]
  private sum = 0
  private count = 0
  constructor(readonly bounds: readonly number[]) {
    this.counts = bounds.map(() => 0)
  }
  observe(v: number): void {
    this.sum += v
    this.count++
    for (let i = 0; i < this.bounds.length; i++) if (v <= (this.bounds[i] as number)) this.counts[i] = (this.counts[i] ?? 0) + 1
  }
  render(name: string, help: string, label: string): string {
    let out = `# HELP ${name} ${help}\n# TYPE ${name} histogram\n`
    out += `${name}_sum{${label}} ${this.sum}\n`
    this.bounds.forEach((b, i) => (out += `${name}_bucket{le="${b}",${label}} ${(this.counts[i] ?? 0).toFixed(1)}\n`))
    out += `${name}_bucket{le="+Inf",${label}} ${this.count.toFixed(1)}\n${name}_count{${label}} ${this.count.toFixed(1)}\n`
    return out
  }
}

export class MockServerMetrics {
  generationTokens = 0
  promptTokens = 0
  running = 0
  private readonly ttft = new Histogram(TTFT_BUCKETS_S)
  private readonly e2e = new Histogram(E2E_BUCKETS_S)

  constructor(private readonly model: string) {}

  firstToken(promptTokens: number, ttftS: number): void {
    this.promptTokens += promptTokens
    this.ttft.observe(ttftS)
  }

  finished(e2eS: number): void {
    this.e2e.observe(e2eS)
  }

  render(): string {
    const label = `model_name=${JSON.stringify(this.model)}`
    return [
      `# HELP vllm:num_requests_running Number of requests in model execution batches.\n# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{${label}} ${this.running.toFixed(1)}\n`,
      `# HELP vllm:prompt_tokens_total Number of prefill tokens processed.\n# TYPE vllm:prompt_tokens_total counter\nvllm:prompt_tokens_total{${label}} ${this.promptTokens.toFixed(1)}\n`,
      `# HELP vllm:generation_tokens_total Number of generation tokens processed.\n# TYPE vllm:generation_tokens_total counter\nvllm:generation_tokens_total{${label}} ${this.generationTokens.toFixed(1)}\n`,
      this.ttft.render('vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', label),
      this.e2e.render('vllm:e2e_request_latency_seconds', 'Histogram of e2e request latency in seconds.', label),
    ].join('')
  }
}
