import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { Pool } from 'undici'
import { NodeClock } from '../../src/adapters/clock/node-clock.js'
import { ConfigError, EngineError } from '../../src/core/errors.js'
import type { Clock } from '../../src/core/ports.js'
import { faultsFor, uniform } from '../../src/engines/mock/fault-plan.js'
import { startMockServer, type MockServer, MockConfigSchema } from '../../src/engines/mock/index.js'
import { PowerTrace } from '../../src/engines/mock/power-trace.js'

async function call(mock: MockServer, method: string, path: string, body?: unknown): Promise<{ status: number; headers: Record<string, unknown>; text: string; json: unknown }> {
  const pool = new Pool(mock.url)
  try {
    const res = await pool.request({ method, path, headers: { 'content-type': 'application/json' }, body: body === undefined ? null : JSON.stringify(body) })
    const text = await res.body.text()
    let json: unknown = null
    try {
      json = JSON.parse(text)
    } catch {
      json = null
    }
    return { status: res.statusCode, headers: res.headers, text, json }
  } finally {
    await pool.close()
  }
}

/** SSE `data:` payloads of a response body, in order. */
function events(text: string): string[] {
  return text
    .split('\n\n')
    .filter((e) => e.startsWith('data: '))
    .map((e) => e.slice(6))
}

test('models, health, tokenize in both shapes, and 404s shaped like the OpenAI API', async () => {
  const mock = await startMockServer({ port: 0, models: ['a', 'b'] })
  try {
    assert.match(mock.baseUrl, /^http:\/\/127\.0\.0\.1:\d+\/v1$/)
    const models = await call(mock, 'GET', '/v1/models')
    assert.deepEqual((models.json as { data: { id: string }[] }).data.map((m) => m.id), ['a', 'b'])
    assert.equal(models.headers.server, 'tokenwatt-mock')
    assert.deepEqual((await call(mock, 'GET', '/health')).json, { status: 'ok' })
    const llama = await call(mock, 'POST', '/tokenize', { content: 'abcdefghi' })
    assert.equal((llama.json as { tokens: number[] }).tokens.length, 3) // ceil(9 / 4)
    const vllm = await call(mock, 'POST', '/tokenize', { model: 'a', prompt: 'abcdefgh' })
    assert.equal((vllm.json as { count: number }).count, 2)
    const chat = await call(mock, 'POST', '/tokenize', { model: 'a', messages: [{ role: 'user', content: 'abcd' }, { role: 'assistant', content: 'é' }] })
    assert.equal((chat.json as { count: number }).count, 4 + 1 + 4 + 1)
    const wrong = await call(mock, 'POST', '/v1/chat/completions', { model: 'zzz', messages: [{ role: 'user', content: 'x' }] })
    assert.equal(wrong.status, 404)
    assert.match(wrong.text, /The model `zzz` does not exist/)
    assert.equal((await call(mock, 'POST', '/v1/chat/completions', { model: 'a' })).status, 400)
    assert.equal((await call(mock, 'POST', '/v1/completions', { model: 'a', prompt: 'x', max_tokens: 0 })).status, 400)
    assert.equal((await call(mock, 'GET', '/nope')).status, 404)
    assert.equal(mock.groundTruth().length, 0, 'rejected requests are not completions')
  } finally {
    await mock.close()
  }
})

test('a streamed chat answer: role chunk, content chunks on schedule, usage last, [DONE]; ground truth records each write', async () => {
  const clock = new NodeClock()
  const mock = await startMockServer({ port: 0, clock, ttftMs: 40, itlMs: 10, tokensPerChunk: 2 })
  try {
    const res = await call(mock, 'POST', '/v1/chat/completions', { model: 'mock', messages: [{ role: 'user', content: 'req-1 hello' }], max_tokens: 5, stream: true, stream_options: { include_usage: true } })
    assert.equal(res.status, 200)
    assert.match(String(res.headers['content-type']), /^text\/event-stream/)
    const data = events(res.text)
    assert.equal(data.at(-1), '[DONE]')
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as { choices: { delta: { role?: string; content: string }; finish_reason: string | null }[]; usage?: Record<string, number> })
    assert.equal(chunks[0]?.choices[0]?.delta.role, 'assistant')
    const content = chunks.slice(1, -1)
    assert.deepEqual(content.map((c) => Buffer.byteLength(c.choices[0]?.delta.content ?? '')), [8, 8, 4]) // 2+2+1 tokens of 4 bytes
    assert.deepEqual(content.map((c) => c.choices[0]?.finish_reason), [null, null, 'length'])
    assert.deepEqual(chunks.at(-1)?.usage, { prompt_tokens: 4 + 3, completion_tokens: 5, total_tokens: 12 })
    assert.equal(chunks.at(-1)?.choices.length, 0)

    const [gt] = mock.groundTruth()
    assert.ok(gt, 'gt')
    assert.equal(gt.outcome, 'complete')
    assert.equal(gt.status, 200)
    assert.equal(gt.promptTokens, 7)
    assert.equal(gt.tokensSent, 5)
    assert.deepEqual(gt.chunks.map((c) => c.kind), ['role', 'content', 'content', 'content', 'usage', 'done'])
    const writes = gt.chunks.filter((c) => c.kind === 'content')
    // absolute schedule: chunk j due at received + 40 ms + j × 2 × 10 ms (never early)
    writes.forEach((w, j) => assert.ok(w.atNs - gt.receivedAtNs >= (40 + j * 20) * 1e6, `chunk ${j} early`))
    // both clocks recorded, and they agree with each other
    const wallNs = (writes[2]!.atWallMs - writes[0]!.atWallMs) * 1e6
    assert.ok(Math.abs(wallNs - (writes[2]!.atNs - writes[0]!.atNs)) < 1e6, 'wall and monotonic times of the writes agree to 1 ms')
  } finally {
    await mock.close()
  }
})

test('non-streaming answers, completions with token-id prompts, natural length and ignore_eos', async () => {
  const mock = await startMockServer({ port: 0, ttftMs: 1, itlMs: 1, outputTokens: 3 })
  try {
    const whole = await call(mock, 'POST', '/v1/chat/completions', { model: 'mock', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 })
    const reply = whole.json as { choices: { message: { content: string }; finish_reason: string }[]; usage: { completion_tokens: number } }
    assert.equal(reply.choices[0]?.finish_reason, 'stop')
    assert.equal(reply.usage.completion_tokens, 3)
    assert.equal(Buffer.byteLength(reply.choices[0]?.message.content ?? ''), 12)
    const eos = await call(mock, 'POST', '/v1/completions', { model: 'mock', prompt: [1, 2, 3, 4, 5], max_tokens: 6, ignore_eos: true })
    const c = eos.json as { choices: { text: string; finish_reason: string }[]; usage: { prompt_tokens: number; completion_tokens: number } }
    assert.equal(c.usage.prompt_tokens, 5)
    assert.equal(c.usage.completion_tokens, 6)
    assert.equal(c.choices[0]?.finish_reason, 'length')
    const min = await call(mock, 'POST', '/v1/completions', { model: 'mock', prompt: 'x', max_tokens: 6, min_tokens: 5 })
    assert.equal((min.json as { usage: { completion_tokens: number } }).usage.completion_tokens, 5)
  } finally {
    await mock.close()
  }
})

test('continuous usage on every chunk; missing usage and malformed lines when injected', async () => {
  const mock = await startMockServer({ port: 0, ttftMs: 1, itlMs: 1, faults: { missingUsage: { every: 2 }, malformed: { every: 3, afterChunks: 1 } } })
  try {
    const body = (stream_options: unknown) => ({ model: 'mock', prompt: 'abcd', max_tokens: 3, stream: true, stream_options })
    const first = events((await call(mock, 'POST', '/v1/completions', body({ include_usage: true, continuous_usage_stats: true }))).text)
    const usages = first.slice(0, -1).map((d) => (JSON.parse(d) as { usage: { completion_tokens: number } }).usage.completion_tokens)
    assert.deepEqual(usages, [1, 2, 3, 3])
    const second = events((await call(mock, 'POST', '/v1/completions', body({ include_usage: true }))).text)
    assert.ok(second.slice(0, -1).every((d) => !d.includes('usage')), 'request 2 has no usage')
    const third = events((await call(mock, 'POST', '/v1/completions', body({ include_usage: true }))).text)
    assert.throws(() => JSON.parse(third[1] ?? ''))
    assert.deepEqual(mock.groundTruth().map((g) => g.faults), [[], ['missingUsage'], ['malformed']])
  } finally {
    await mock.close()
  }
})

test('fault plan: every-N is a modulus, probabilities are seeded and close to p, status faults pre-empt stream faults', () => {
  const faults = MockConfigSchema.parse({ faults: { rateLimit: { every: 5 }, stall: { every: 2 }, disconnect: { probability: 0.25 } } }).faults
  const hits = Array.from({ length: 4000 }, (_, k) => faultsFor(faults, 7, k + 1))
  assert.deepEqual([...(hits[4] ?? [])], ['rateLimit'])
  assert.ok(hits[1]?.has('stall'), 'hits[1]?.has(\'stall\')')
  const disconnects = hits.filter((h) => h.has('disconnect')).length
  assert.ok(disconnects > 800 && disconnects < 1200, `${disconnects} of 4000 at p=0.25`)
  assert.deepEqual(
    hits.map((h) => [...h].join()),
    Array.from({ length: 4000 }, (_, k) => [...faultsFor(faults, 7, k + 1)].join()),
  )
  assert.notDeepEqual(hits.map((h) => h.has('disconnect')), Array.from({ length: 4000 }, (_, k) => faultsFor(faults, 8, k + 1).has('disconnect')))
  assert.ok(uniform(1, 2, 3) >= 0 && uniform(1, 2, 3) < 1, 'uniform(1, 2, 3) >= 0 && uniform(1, 2, 3) < 1')
})

test('power trace: idle + per-stream watts, capped, and the energy counter is the exact integral', () => {
  let now = 0
  const clock: Clock = { nowNs: () => now, wallMs: () => 1_000 + now / 1e6, sleepUntil: async () => undefined, nextTurn: async () => undefined }
  const trace = new PowerTrace(clock, 100, 30, 160)
  now = 2e9
  assert.deepEqual(trace.read(), { timeMs: 3_000, powerW: 100, energyJ: 200, streams: 0, prefillStreams: 0, decodeStreams: 0, prefillEnergyJ: 0, decodeEnergyJ: 0 })
  trace.streamStarted()
  now = 3e9 // 1 s at 130 W
  trace.streamStarted()
  trace.streamStarted() // 3 streams: 190 W capped at 160
  now = 3.5e9
  assert.equal(trace.read().powerW, 160)
  trace.streamEnded()
  trace.streamEnded()
  trace.streamEnded()
  now = 4.5e9
  assert.equal(trace.read().energyJ, 200 + 130 + 80 + 100)
})

test('power trace by phase: prefill and decode watts per request, and each phase\'s energy above idle exactly', () => {
  let now = 0
  const clock: Clock = { nowNs: () => now, wallMs: () => now / 1e6, sleepUntil: async () => undefined, nextTurn: async () => undefined }
  const trace = new PowerTrace(clock, 100, 5, 10_000, null, { prefillW: 60, decodeW: 10 })
  trace.streamStarted() // one request in prefill: 100 + 65 W
  now = 1e9
  assert.equal(trace.read().powerW, 165)
  trace.streamStarted() // two in prefill
  now = 1.5e9
  trace.firstToken() // one moves to decode: 100 + 65 + 15 W
  assert.equal(trace.read().powerW, 180)
  now = 2.5e9
  trace.streamEnded(true) // the decoding one ends
  trace.streamEnded(false) // the other ends still in prefill (a failed request)
  now = 3e9
  const r = trace.read()
  assert.equal(r.prefillStreams + r.decodeStreams, 0)
  // prefill: 65 W × (1 s + 2 × 0.5 s + 1 s) = 195 J; decode: 15 W × 1 s = 15 J; idle 100 W × 3 s
  assert.equal(r.prefillEnergyJ, 195)
  assert.equal(r.decodeEnergyJ, 15)
  assert.equal(r.energyJ, 300 + 195 + 15)
})

test('GET /tokenwatt/power follows the streams in flight', async () => {
  const mock = await startMockServer({ port: 0, ttftMs: 300, itlMs: 1, power: { idleW: 50, perStreamW: 20, maxW: 1000 } })
  try {
    const idle = (await call(mock, 'GET', '/tokenwatt/power')).json as { powerW: number; energyJ: number; timeMs: number }
    assert.equal(idle.powerW, 50)
    const pending = [1, 2].map(() => call(mock, 'POST', '/v1/completions', { model: 'mock', prompt: 'x', max_tokens: 1, stream: true }))
    await new Promise((r) => setTimeout(r, 100))
    assert.equal(mock.power().powerW, 90)
    assert.equal(mock.power().streams, 2)
    await Promise.all(pending)
    const later = (await call(mock, 'GET', '/tokenwatt/power')).json as { powerW: number; energyJ: number; timeMs: number }
    assert.equal(later.powerW, 50)
    assert.ok(later.energyJ > idle.energyJ + (50 * (later.timeMs - idle.timeMs)) / 1000, 'streams added energy above idle')
  } finally {
    await mock.close()
  }
})

test('ground truth goes to a JSONL file, one line per finished request; a client that leaves is recorded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-mock-'))
  const file = join(dir, 'truth.jsonl')
  const mock = await startMockServer({ port: 0, ttftMs: 1, itlMs: 50, groundTruthFile: file })
  try {
    await call(mock, 'POST', '/v1/completions', { model: 'mock', prompt: 'req-1', max_tokens: 2, stream: true })
    const controller = new AbortController()
    const pool = new Pool(mock.url)
    const cut = pool.request({ method: 'POST', path: '/v1/completions', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'mock', prompt: 'req-2', max_tokens: 50, stream: true }), signal: controller.signal })
    const res = await cut
    res.body.on('error', () => undefined)
    setTimeout(() => controller.abort(), 120)
    await new Promise((r) => res.body.on('close', r))
    await new Promise((r) => setTimeout(r, 50))
    await pool.close()
  } finally {
    await mock.close()
  }
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { n: number; outcome: string; chunks: unknown[]; tokensSent: number })
  assert.deepEqual(lines.map((l) => [l.n, l.outcome]), [[1, 'complete'], [2, 'client_closed']])
  assert.ok((lines[1]?.tokensSent ?? 0) >= 1 && (lines[1]?.tokensSent ?? 99) < 50, '(lines[1]?.tokensSent ?? 0) >= 1 && (lines[1]?.tokensSent ?? 99) < 50')
  rmSync(dir, { recursive: true, force: true })
})

test('start-up errors are typed: bad options, port in use, unwritable ground-truth file', async () => {
  await assert.rejects(startMockServer({ port: 0, itlMs: -1 }), (e: unknown) => e instanceof ConfigError && /itlMs/.test(e.message))
  const first = await startMockServer({ port: 0 })
  try {
    await assert.rejects(startMockServer({ port: first.port }), (e: unknown) => e instanceof EngineError && /EADDRINUSE/.test(e.message) && /--port/.test(e.hint ?? ''))
  } finally {
    await first.close()
  }
  await assert.rejects(startMockServer({ port: 0, groundTruthFile: '/nonexistent-dir/x/truth.jsonl' }), (e: unknown) => e instanceof EngineError && /ground-truth/.test(e.message))
})

test('closing the server with streams in flight cuts them cleanly (and the ground-truth file stays consistent)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-mock-'))
  const file = join(dir, 'truth.jsonl')
  const mock = await startMockServer({ port: 0, ttftMs: 1, itlMs: 20, groundTruthFile: file })
  const pool = new Pool(mock.url)
  const res = await pool.request({ method: 'POST', path: '/v1/completions', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'mock', prompt: 'x', max_tokens: 100, stream: true }) })
  const ended = new Promise<string>((resolve) => {
    res.body.on('error', (e: Error) => resolve(e.message))
    res.body.on('end', () => resolve('end'))
    res.body.resume()
  })
  await new Promise((r) => setTimeout(r, 80))
  await mock.close()
  assert.notEqual(await ended, 'end', 'the client sees the stream cut, not a complete answer')
  await new Promise((r) => setTimeout(r, 50))
  await pool.destroy()
  assert.equal(readFileSync(file, 'utf8'), '', 'a stream cut by shutdown is not logged as finished')
  rmSync(dir, { recursive: true, force: true })
})
