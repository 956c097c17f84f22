import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ExitCode } from '../../src/core/errors.js'
import type { RequestRecord } from '../../src/core/records.js'
import type { RunSummary } from '../../src/core/summary.js'
import { runCli } from '../../testkit/cli.js'

const t0 = Date.UTC(2026, 11, 5, 13, 0, 0) / 1000

/** A GuideLLM 0.4+ GenerativeRequestStats (schemas/request_stats.py + info.py), as model_dump writes it. */
function requestStats(startS: number, ttftS: number, endS: number, prompt: number, output: number): Record<string, unknown> {
  const timings = { targeted_start: startS, queued: startS - 0.01, dequeued: startS, scheduled_at: startS, resolve_start: startS, request_start: startS, first_request_iteration: startS + ttftS, first_token_iteration: startS + ttftS, last_token_iteration: endS, last_request_iteration: endS, request_iterations: output, token_iterations: output, request_end: endS, resolve_end: endS, finalized: endS }
  return {
    type_: 'generative_request_stats',
    request_id: `req-${startS}`,
    response_id: null,
    request_args: null,
    output: 'text',
    info: { request_id: `req-${startS}`, status: 'completed', timings },
    input_metrics: { text_tokens: prompt, total_tokens: prompt },
    output_metrics: { text_tokens: output, total_tokens: output },
    request_start_time: startS,
    request_end_time: endS,
    request_latency: endS - startS,
    prompt_tokens: prompt,
    output_tokens: output,
    total_tokens: prompt + output,
    time_to_first_token_ms: ttftS * 1000,
    inter_token_latency_ms: (1000 * (endS - startS - ttftS)) / (output - 1),
  }
}

/** A benchmark of the sweep: `n` requests of 1000 output tokens, filling [startS, startS + 10]. */
function benchmark(startS: number, strategy: Record<string, unknown>, n: number, ttftS: number): Record<string, unknown> {
  const reqs = Array.from({ length: n }, (_, i) => requestStats(startS + i, ttftS, startS + 10 - (n - 1 - i) * 0.5, 200, 1000))
  return {
    type_: 'generative_benchmark',
    id_: `bench-${startS}`,
    run_id: 'run-1',
    run_index: 0,
    config: { strategy, constraints: {} },
    scheduler_state: {},
    scheduler_metrics: { start_time: startS - 1, request_start_time: startS - 0.5, measure_start_time: startS, measure_end_time: startS + 10, request_end_time: startS + 10.5, end_time: startS + 11, requests_made: { successful: n, incomplete: 0, errored: 1, total: n + 1 } },
    metrics: { output_token_count: { successful: { mean: 1000, count: n, total_sum: n * 1000 } }, prompt_token_count: { successful: { mean: 200, count: n, total_sum: n * 200 } } },
    requests: { successful: reqs, incomplete: [], errored: [], total: null },
    start_time: startS,
    end_time: startS + 10,
    duration: 10,
  }
}

function report(): Record<string, unknown> {
  return {
    args: { target: 'http://localhost:8000', model: 'Qwen/Qwen3-8B', profile: 'sweep' },
    benchmarks: [benchmark(t0, { type_: 'synchronous' }, 4, 0.1), benchmark(t0 + 20, { type_: 'constant', rate: 2.5 }, 8, 0.3)],
  }
}

test('a GuideLLM sweep benchmarks.json: each benchmark its own run, per-request records, tokens/J by hand', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-guidellm-'))
  writeFileSync(join(dir, 'benchmarks.json'), JSON.stringify(report()))
  const log = ['timestamp,power_w']
  for (let t = t0 - 2; t <= t0 + 40; t += 1) log.push(`${t},800`)
  writeFileSync(join(dir, 'power.csv'), `${log.join('\n')}\n`)
  const store = ['--store', join(dir, 'runs.db')]
  const r = await runCli(['import', 'guidellm', 'benchmarks.json', '--power', 'power.csv', '--usd-per-accelerator-hour', '3.6', '--accelerators', '1', '--utilization', '1', '--json', '--out', join(dir, 'out'), ...store], { cwd: dir })
  assert.equal(r.code, 0, r.stderr)
  const runs = JSON.parse(r.stdout) as RunSummary[]
  assert.equal(runs.length, 2)
  const [a, b] = runs as [RunSummary, RunSummary]
  assert.equal(a.provenance?.benchmark, 'benchmark 0 (synchronous)')
  assert.equal(b.provenance?.benchmark, 'benchmark 1 (constant 2.5 req/s)')
  assert.equal(a.target.model, 'Qwen/Qwen3-8B')
  assert.equal(a.requests.succeeded, 4)
  assert.equal(a.requests.failed, 1)
  // 800 W × 10 s = 8000 J; 4000 output tokens → 0.5 tok/J; 400 tok/s at $3.60/h → $2.50/Mtok
  assert.ok(Math.abs((a.efficiency?.outputTokensPerJoule ?? 0) - 0.5) < 1e-9, String(a.efficiency?.outputTokensPerJoule))
  assert.ok(Math.abs((a.cost?.usdPerMillionOutputTokens ?? 0) - 2.5) < 1e-9, String(a.cost?.usdPerMillionOutputTokens))
  // 8000 tokens in the second benchmark's 10 s → 1 tok/J
  assert.ok(Math.abs((b.efficiency?.outputTokensPerJoule ?? 0) - 1) < 1e-9)
  assert.ok(Math.abs((a.latency.ttftMs.p50 ?? 0) - 100) < 1e-6)
  assert.ok(Math.abs((b.latency.ttftMs.p50 ?? 0) - 300) < 1e-6)
  const ex = await runCli(['runs', 'export', b.id, ...store], { cwd: dir })
  const doc = JSON.parse(ex.stdout) as { requests: RequestRecord[] }
  assert.equal(doc.requests.length, 8)
  assert.deepEqual(doc.requests[0]?.chunkTokens, [1, 999])
})

test('GuideLLM 0.2–0.3 requests (start_time, first_token_time, …) read the same; an unknown request type is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-guidellm-old-'))
  const old = (s: number): Record<string, unknown> => ({ type_: 'generative_text_response', request_id: `r${s}`, request_type: 'chat_completions', prompt: 'p', output: 'o', prompt_tokens: 100, output_tokens: 500, start_time: s, end_time: s + 5, first_token_time: s + 0.2, last_token_time: s + 5 })
  const doc = { benchmarks: [{ type_: 'generative_benchmark', start_time: t0, end_time: t0 + 10, request_totals: { successful: 2, errored: 0, incomplete: 0, total: 2 }, requests: { successful: [old(t0), old(t0 + 5)], errored: [], incomplete: [] } }] }
  writeFileSync(join(dir, 'benchmarks.json'), JSON.stringify(doc, null, 2))
  const store = ['--store', join(dir, 'runs.db')]
  const r = await runCli(['import', 'guidellm', 'benchmarks.json', '--json', '--out', join(dir, 'out'), ...store], { cwd: dir })
  assert.equal(r.code, 0, r.stderr)
  const s = JSON.parse(r.stdout) as RunSummary
  assert.equal(s.tokens.output, 1000)
  // TPOT = (5 − 0.2) s / 499
  assert.ok(Math.abs((s.latency.tpotMs.p50 ?? 0) - 4800 / 499) < 1e-6)
  const bad = JSON.stringify(doc, null, 2).replace('"generative_text_response"', '"generative_embeddings_response"')
  writeFileSync(join(dir, 'bad.json'), bad)
  const b = await runCli(['import', 'guidellm', 'bad.json', ...store], { cwd: dir })
  assert.equal(b.code, ExitCode.Usage)
  // the line of the offending value itself, found in the text by hand
  const line = bad.split('\n').findIndex((l) => l.includes('generative_embeddings_response')) + 1
  assert.ok(b.stderr.includes(`bad.json:${line}: benchmarks[0].requests.successful[0].type_: unknown request type "generative_embeddings_response"`), b.stderr)
  assert.match(b.stderr, /supported: GuideLLM 0\.2–0\.3/)
})
