// Upstream llama.cpp llama-server, built from the source bundled in node-llama-cpp, serving our generated
// model: tokenwatt proven against a server nobody on this project wrote. The first run on a machine
// builds it into the stable cache (~6 min on 2 cores; the test allows 40 min for slow, shared CI).
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { NodeClock } from '../../src/adapters/clock/node-clock.js'
import { OpenAIStreamClient } from '../../src/adapters/endpoints/openai-client.js'
import { BenchConfigSchema } from '../../src/core/config/bench-schema.js'
import { runBenchFromConfig } from '../../src/cli/bench/bench-runner.js'
import type { CliHost } from '../../src/cli/host.js'
import { buildLlamaServer, defaultCacheDir, startLocalEngine, type LocalEngine } from '../../src/engines/local/index.js'
import { scrape, stream } from './sse-client.js'

const BUILD_TIMEOUT_MS = 40 * 60_000
let engine: LocalEngine | undefined
let dir = ''

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tw-llama-server-'))
  const cacheDir = defaultCacheDir()
  const build = await buildLlamaServer({ cacheDir, onProgress: (line) => process.stderr.write(`# ${line}\n`) })
  if (build.built) process.stderr.write(`# built llama-server in ${build.buildS.toFixed(0)} s\n`)
  engine = await startLocalEngine({ engine: 'llama-server', size: 'tiny', parallel: 4, ctx: 1024, cacheDir })
}, { timeout: BUILD_TIMEOUT_MS })

after(async () => {
  await engine?.stop()
  await rm(dir, { recursive: true, force: true })
})

test('llama-server serves the generated model with exact streamed token counts', async () => {
  assert.ok(engine)
  assert.equal(engine.engine, 'llama-server')
  assert.ok(engine.pid !== null && engine.pid > 0)
  const models = (await (await fetch(`${engine.baseUrl}/models`)).json()) as { data: { id: string }[] }
  assert.ok(models.data.some((m) => m.id === 'tokenwatt-tiny-f16'), JSON.stringify(models))
  const chat = await stream(`${engine.baseUrl}/chat/completions`, {
    model: engine.model,
    messages: [{ role: 'user', content: 'Tell me a story.' }],
    max_tokens: 100,
    stream_options: { include_usage: true },
  })
  assert.equal(chat.status, 200)
  assert.equal(chat.usage?.completion_tokens, 100)
  assert.equal(chat.pieces.join('').length, 100, 'one printable character per token')
  assert.match(chat.pieces.join(''), /^[a-z .,]+$/)
  assert.equal(chat.finishReason, 'length')
  assert.equal(chat.sawDone, true)
})

test('concurrent streams all complete and llama-server /metrics counts them', async () => {
  assert.ok(engine)
  const before = await scrape(engine.rootUrl)
  const runs = await Promise.all([0, 1, 2, 3].map((i) => stream(`${engine!.baseUrl}/completions`, { prompt: `story ${i}`, max_tokens: 80, stream_options: { include_usage: true } })))
  for (const r of runs) assert.equal(r.usage?.completion_tokens, 80)
  const end = await scrape(engine.rootUrl)
  assert.equal((end.get('llamacpp:tokens_predicted_total') ?? 0) - (before.get('llamacpp:tokens_predicted_total') ?? 0), 4 * 80)
  assert.ok(end.has('llamacpp:requests_processing'))
})

test('tokenwatt client and bench runner against llama-server: closed loop, exact usage, no errors', async () => {
  assert.ok(engine)
  const client = new OpenAIStreamClient({ baseUrl: engine.baseUrl, model: engine.model, api: 'chat', clock: new NodeClock() })
  const info = await client.preflight()
  assert.equal(info.streamsUsage, true)
  assert.equal(await client.tokenize('hello world'), 11)
  await client.close()

  let stderr = ''
  const host: CliHost = {
    env: { HOME: dir },
    cwd: dir,
    stdout: { write: () => undefined, isTTY: false },
    stderr: { write: (t) => void (stderr += t), isTTY: false },
    signal: new AbortController().signal,
  }
  const config = BenchConfigSchema.parse({
    target: { endpoint: engine.baseUrl, model: engine.model },
    workload: { input: { type: 'fixed', value: 64 }, output: { type: 'fixed', value: 32 } },
    load: { type: 'closed-loop', concurrency: 4 },
    stop: { requests: 24 },
    out: join(dir, 'runs'),
    store: join(dir, 'store.db'),
  })
  const result = await runBenchFromConfig(config, host, { progress: false })
  const s = result.summary
  assert.equal(s.status, 'complete', stderr)
  assert.equal(s.requests.total, 24)
  // Upstream llama-server closes the socket after every streamed response without `Connection: close`
  // (see the next test). The client resends a request that met such a closed socket before any
  // response byte, once, and counts it: no request may fail.
  assert.equal(s.requests.failed, 0, JSON.stringify(s.requests.errorsByKind))
  assert.equal(s.requests.succeeded, 24)
  assert.equal(s.tokens.source, 'server-usage')
  assert.equal(s.tokens.outputPerRequest.mean, 32)
  assert.ok(s.throughput.outputTokensPerS > 0)
  assert.ok((s.latency.ttftMs.p50 ?? 0) > 0)
})

test('upstream behaviour the client must survive: llama-server closes the connection after each streamed response', async () => {
  assert.ok(engine)
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const sockets = new Set<unknown>()
  const once = (stream: boolean): Promise<{ connection: string | undefined }> =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({ prompt: 'x', max_tokens: 4, stream })
      const req = request(`${engine!.baseUrl}/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        sockets.add(res.socket)
        res.resume()
        res.on('end', () => resolve({ connection: res.headers.connection }))
      })
      req.on('error', reject)
      req.end(body)
    })
  for (let i = 0; i < 3; i++) await once(false)
  assert.equal(sockets.size, 1, 'non-streamed responses keep the connection alive')
  sockets.clear()
  const streamed = await once(true)
  assert.equal(streamed.connection, undefined, 'no Connection: close header is sent…')
  await new Promise((r) => setTimeout(r, 200))
  await once(false)
  assert.equal(sockets.size, 2, '…yet the socket of the streamed response was closed by the server')
  agent.destroy()
})
