// The client reads cached prompt tokens in each server's own shape, over real HTTP/SSE: OpenAI/vLLM/
// SGLang `usage.prompt_tokens_details.cached_tokens`, llama-server's `timings.cache_n` on its final
// chunk, and `tokens_cached` of llama.cpp's native stream. Servers that say nothing give no figure.
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { OpenAIStreamClient } from '../../src/adapters/endpoints/openai-client.js'

function sseServer(finalChunk: Record<string, unknown>): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      const base = { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm' }
      res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: 'Hel' }, finish_reason: null }] })}\n\n`)
      res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: 'lo' }, finish_reason: 'stop' }] })}\n\n`)
      res.write(`data: ${JSON.stringify({ ...base, choices: [], ...finalChunk })}\n\n`)
      res.end('data: [DONE]\n\n')
    })
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })))
}

const cases: [string, Record<string, unknown>, number | undefined][] = [
  ['vLLM / OpenAI usage.prompt_tokens_details', { usage: { prompt_tokens: 120, completion_tokens: 2, total_tokens: 122, prompt_tokens_details: { cached_tokens: 96 } } }, 96],
  ['llama-server timings.cache_n', { usage: { prompt_tokens: 120, completion_tokens: 2, total_tokens: 122 }, timings: { cache_n: 100, prompt_n: 20, prompt_ms: 3.1, predicted_n: 2 } }, 100],
  ['llama.cpp tokens_cached', { usage: { prompt_tokens: 120, completion_tokens: 2, total_tokens: 122 }, tokens_cached: 64 }, 64],
  ['no cache figure', { usage: { prompt_tokens: 120, completion_tokens: 2, total_tokens: 122 } }, undefined],
]

for (const [name, final, expected] of cases) {
  test(`cached prompt tokens: ${name}`, async () => {
    const { server, url } = await sseServer(final)
    const client = new OpenAIStreamClient({ baseUrl: url, model: 'm' })
    try {
      const rec = await client.send({ seq: 0, phase: 'measure', userId: 0, scheduledAtNs: null, text: 'hi', messages: null, maxTokens: 2, targetInputTokens: null, captureText: true })
      assert.equal(rec.error, null)
      assert.equal(rec.inputTokens, 120)
      assert.equal(rec.outputTokens, 2)
      assert.equal(rec.cachedInputTokens, expected)
      assert.equal(rec.responseText, 'Hello', 'captured text is the streamed content')
      assert.equal(rec.chunkAtNs.length, 2)
    } finally {
      await client.close()
      server.close()
    }
  })
}
