// Production-like traffic from another process: `node load-client.mjs BASE_URL CONCURRENCY DURATION_MS MAX_TOKENS`
/* global fetch */
// keeps CONCURRENCY streamed chat completions in flight against an OpenAI-compatible server for
// DURATION_MS, reading every byte, and prints `{"requests":N,"errors":M,"completionTokens":T}` when
// done (T: the sum of the servers' own usage.completion_tokens). The monitor under
// test never sees these requests: it only reads the server's /metrics.
const [baseUrl, concurrencyArg, durationArg, maxTokensArg, modelArg] = process.argv.slice(2)
const concurrency = Number(concurrencyArg ?? 2)
const deadline = Date.now() + Number(durationArg ?? 3000)
const maxTokens = Number(maxTokensArg ?? 32)
let requests = 0
let errors = 0
let completionTokens = 0
async function user(u) {
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${baseUrl}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: modelArg ?? 'mock', stream: true, stream_options: { include_usage: true }, max_tokens: maxTokens, messages: [{ role: 'user', content: `user ${u} request ${requests} says hello to the server` }] }),
      })
      const text = await res.text()
      for (const line of text.split('\n')) {
        if (!line.startsWith('data: {')) continue
        const usage = JSON.parse(line.slice(6)).usage
        if (usage && typeof usage.completion_tokens === 'number') completionTokens += usage.completion_tokens
      }
      if (res.ok) requests++
      else {
        errors++
        process.stderr.write(`load-client: HTTP ${res.status}: ${text.slice(0, 200)}\n`)
      }
    } catch (e) {
      errors++
      process.stderr.write(`load-client: ${e.message} ${e.cause?.code ?? ''}\n`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
}
await Promise.all(Array.from({ length: concurrency }, (_, u) => user(u)))
process.stdout.write(`${JSON.stringify({ requests, errors, completionTokens })}\n`)
