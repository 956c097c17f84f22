import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { NodeClock } from '../../src/adapters/clock/node-clock.js'
import { OpenAIStreamClient } from '../../src/adapters/endpoints/openai-client.js'

/**
 * A server that behaves like upstream llama-server: after a streamed response it is done with the
 * connection without announcing `Connection: close`. Here it closes the socket at the moment the next
 * request arrives on it — the race the client meets against llama-server, made deterministic.
 */
async function closingServer(): Promise<{ server: Server; port: number; received: () => number }> {
  let received = 0
  const served = new WeakSet<object>()
  const server = createServer((req, res) => {
    if (served.has(req.socket)) {
      req.socket.destroy()
      return
    }
    served.add(req.socket)
    req.resume()
    req.on('end', () => {
      received++
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n')
      res.write('data: {"choices":[{"index":0,"delta":{"content":"b"},"finish_reason":"length"}]}\n\n')
      res.write('data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}\n\n')
      res.end('data: [DONE]\n\n')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as AddressInfo).port, received: () => received }
}

test('a request written to a keep-alive socket the server silently closed is resent once, and counted', async () => {
  const { server, port, received } = await closingServer()
  const client = new OpenAIStreamClient({ baseUrl: `http://127.0.0.1:${port}`, model: 'm', api: 'chat', clock: new NodeClock(), connections: 1 })
  try {
    const records = []
    for (let i = 0; i < 6; i++) {
      records.push(await client.send({ seq: i, phase: 'measure', userId: 0, scheduledAtNs: null, text: null, messages: [{ role: 'user', content: 'x' }], maxTokens: 2, targetInputTokens: null }))
    }
    assert.deepEqual(records.map((r) => r.error), [null, null, null, null, null, null])
    assert.ok(records.every((r) => r.outputTokens === 2 && r.chunkAtNs.length === 2))
    // The server answered each request exactly once: a resend only happens when it never read the first.
    assert.equal(received(), 6)
    // Every request after the first met a used socket, was refused unread, and was resent once.
    assert.equal(client.connectionStats().staleRetries, 5)
  } finally {
    await client.close()
    server.close()
  }
})
