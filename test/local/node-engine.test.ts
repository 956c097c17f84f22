// End to end over loopback HTTP: the real node engine (node-llama-cpp, a generated tiny model) in its
// own child process, as `tokenwatt bench` and `demo` start it.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { startLocalEngine, type LocalEngine } from '../../src/engines/local/index.js'
import { postJson, scrape, stream, waitFor } from './sse-client.js'

let cacheDir = ''
let engine: LocalEngine
const PARALLEL = 2

before(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'tw-engine-'))
  engine = await startLocalEngine({ size: 'tiny', parallel: PARALLEL, ctx: 4096, cacheDir })
})
after(async () => {
  await engine?.stop()
  await rm(cacheDir, { recursive: true, force: true })
})

test('the engine runs in a child process and reports its model', async () => {
  assert.equal(engine.engine, 'node')
  assert.ok(engine.pid !== null && engine.pid !== process.pid)
  assert.match(engine.baseUrl, /^http:\/\/127\.0\.0\.1:\d+\/v1$/)
  assert.equal(engine.model, 'tokenwatt-tiny-f16')
  const health = await fetch(`${engine.rootUrl}/health`)
  assert.deepEqual(await health.json(), { status: 'ok' })
  const models = (await (await fetch(`${engine.baseUrl}/models`)).json()) as { data: { id: string }[] }
  assert.deepEqual(models.data.map((m) => m.id), ['tokenwatt-tiny-f16'])
  const tok = await postJson(`${engine.rootUrl}/tokenize`, { content: 'hello world' })
  assert.equal(tok.json.tokens.length, 11, 'one token per ASCII character, space included')
  const withBos = await postJson(`${engine.rootUrl}/tokenize`, { content: 'hi', add_special: true })
  assert.equal(withBos.json.tokens[0], 1)
  const detok = await postJson(`${engine.rootUrl}/detokenize`, { tokens: tok.json.tokens })
  assert.equal(detok.json.content, 'hello world')
})

test('streamed chat: chunk count == max_tokens == usage.completion_tokens, then [DONE]', async () => {
  const r = await stream(`${engine.baseUrl}/chat/completions`, {
    model: engine.model,
    messages: [{ role: 'user', content: 'Tell me a story.' }],
    max_tokens: 200,
    stream_options: { include_usage: true },
  })
  assert.equal(r.status, 200)
  assert.equal(r.pieces.length, 200)
  assert.equal(r.usage?.completion_tokens, 200)
  assert.equal(r.usage?.prompt_tokens, (await postJson(`${engine.rootUrl}/tokenize`, { content: 'user: Tell me a story.\nassistant: ', add_special: true })).json.tokens.length)
  assert.equal(r.finishReason, 'length')
  assert.equal(r.sawDone, true)
  assert.equal(r.events[0]?.choices[0].delta.role, 'assistant')
  const text = r.pieces.join('')
  assert.match(text, /^[a-z .,]+$/, 'the synthetic model emits printable text')
  assert.equal(text.length, 200)
})

test('streamed completions without include_usage send no usage chunk; non-streaming reports usage', async () => {
  const r = await stream(`${engine.baseUrl}/completions`, { model: engine.model, prompt: 'Once upon a time', max_tokens: 64 })
  assert.equal(r.pieces.length, 64)
  assert.equal(r.usage, null)
  assert.equal(r.events.at(-1)?.choices[0].finish_reason, 'length')
  const n = await postJson(`${engine.baseUrl}/completions`, { prompt: 'Once upon a time', max_tokens: 33 })
  assert.equal(n.status, 200)
  assert.equal(n.json.usage.completion_tokens, 33)
  assert.equal(n.json.usage.prompt_tokens, 17)
  assert.equal(n.json.choices[0].text.length, 33)
  const c = await postJson(`${engine.baseUrl}/chat/completions`, { messages: [{ role: 'user', content: 'hi' }], max_completion_tokens: 5 })
  assert.equal(c.json.object, 'chat.completion')
  assert.equal(c.json.choices[0].message.content.length, 5)
  assert.equal(c.json.usage.total_tokens, c.json.usage.prompt_tokens + 5)
})

test('concurrent requests beyond --parallel queue and all complete exactly', async () => {
  const n = 3 * PARALLEL
  const before = await scrape(engine.rootUrl)
  const runs = Array.from({ length: n }, (_, i) =>
    stream(`${engine.baseUrl}/completions`, { prompt: `request ${i}`, max_tokens: 400, stream_options: { include_usage: true } }),
  )
  await waitFor(async () => {
    const m = await scrape(engine.rootUrl)
    return m.get('llamacpp:requests_processing') === PARALLEL && m.get('llamacpp:requests_deferred') === n - PARALLEL
  }, 5000, `${PARALLEL} processing and ${n - PARALLEL} deferred`)
  const results = await Promise.all(runs)
  for (const r of results) {
    assert.equal(r.pieces.length, 400)
    assert.equal(r.usage?.completion_tokens, 400)
  }
  const afterAll = await scrape(engine.rootUrl)
  assert.equal(afterAll.get('llamacpp:requests_processing'), 0)
  assert.equal(afterAll.get('llamacpp:requests_deferred'), 0)
  assert.equal((afterAll.get('llamacpp:tokens_predicted_total') ?? 0) - (before.get('llamacpp:tokens_predicted_total') ?? 0), n * 400)
})

test('a client disconnect aborts generation and frees its sequence', async () => {
  const before = await scrape(engine.rootUrl)
  // Fill every slot with long requests, then drop one after 10 tokens.
  const long = Array.from({ length: PARALLEL - 1 }, () => stream(`${engine.baseUrl}/completions`, { prompt: 'long', max_tokens: 800 }))
  const dropped = await stream(`${engine.baseUrl}/completions`, { prompt: 'drop me', max_tokens: 800 }, { stopAfter: 10 })
  assert.equal(dropped.pieces.length, 10)
  // The freed slot serves a new request while the long ones still run: full parallelism again.
  const next = await stream(`${engine.baseUrl}/completions`, { prompt: 'next', max_tokens: 50, stream_options: { include_usage: true } })
  assert.equal(next.usage?.completion_tokens, 50)
  const mid = await scrape(engine.rootUrl)
  assert.equal(mid.get('llamacpp:requests_processing'), PARALLEL - 1, 'the long requests still hold their slots, the dropped one does not')
  await Promise.all(long)
  await waitFor(async () => (await scrape(engine.rootUrl)).get('llamacpp:requests_processing') === 0, 5000, 'all slots free')
  const end = await scrape(engine.rootUrl)
  assert.equal((end.get('tokenwatt_engine_requests_aborted_total') ?? 0) - (before.get('tokenwatt_engine_requests_aborted_total') ?? 0), 1)
  const predicted = (end.get('llamacpp:tokens_predicted_total') ?? 0) - (before.get('llamacpp:tokens_predicted_total') ?? 0)
  const abortedServed = predicted - (PARALLEL - 1) * 800 - 50
  assert.ok(abortedServed >= 10 && abortedServed < 400, `the aborted request stopped early (served ${abortedServed} tokens)`)
})

test('/metrics counters match the tokens served', async () => {
  const before = await scrape(engine.rootUrl)
  let prompt = 0
  let completion = 0
  for (const [i, max] of [7, 31, 1].entries()) {
    const r = await stream(`${engine.baseUrl}/chat/completions`, { messages: [{ role: 'user', content: `q${'x'.repeat(i * 10)}` }], max_tokens: max, stream_options: { include_usage: true } })
    prompt += r.usage?.prompt_tokens ?? NaN
    completion += r.pieces.length
  }
  const r = await postJson(`${engine.baseUrl}/completions`, { prompt: 'abc', max_tokens: 12 })
  prompt += r.json.usage.prompt_tokens
  completion += r.json.usage.completion_tokens
  const end = await scrape(engine.rootUrl)
  const delta = (k: string): number => (end.get(k) ?? 0) - (before.get(k) ?? 0)
  assert.equal(delta('llamacpp:prompt_tokens_total'), prompt)
  assert.equal(delta('llamacpp:tokens_predicted_total'), completion)
  assert.equal(delta('tokenwatt_engine_requests_total'), 4)
  assert.ok(delta('llamacpp:prompt_seconds_total') > 0)
  assert.ok(delta('llamacpp:tokens_predicted_seconds_total') > 0)
})

test('stop strings end the output before the match', async () => {
  const r = await stream(`${engine.baseUrl}/completions`, { prompt: 'x', max_tokens: 500, stop: ['e'], stream_options: { include_usage: true } })
  const text = r.pieces.join('')
  assert.equal(r.finishReason, 'stop')
  assert.ok(!text.includes('e'))
  assert.ok((r.usage?.completion_tokens ?? 0) < 500)
})

test('bad requests get OpenAI-shaped 4xx errors naming the field', async () => {
  const cases: [string, unknown, number, RegExp][] = [
    ['/completions', { prompt: 'x', n: 2 }, 400, /n must be 1/],
    ['/completions', { prompt: 'x', temperature: 'hot' }, 400, /temperature/],
    ['/completions', {}, 400, /prompt is required/],
    ['/chat/completions', { messages: [] }, 400, /messages/],
    ['/completions', { prompt: 'x'.repeat(5000) }, 400, /does not fit the context of 4096/],
  ]
  for (const [path, body, status, message] of cases) {
    const r = await postJson(`${engine.baseUrl}${path}`, body)
    assert.equal(r.status, status, JSON.stringify(body).slice(0, 80))
    assert.match(r.json.error.message, message)
    assert.equal(r.json.error.type, 'invalid_request_error')
  }
  const bad = await fetch(`${engine.baseUrl}/completions`, { method: 'POST', body: '{not json' })
  assert.equal(bad.status, 400)
  assert.equal((await fetch(`${engine.baseUrl}/nope`)).status, 404)
  assert.equal((await fetch(`${engine.baseUrl}/completions`)).status, 405)
})
