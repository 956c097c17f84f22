import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { before, test } from 'node:test'
import { ExitCode } from '../../src/core/errors.js'
import type { RunSummary } from '../../src/core/summary.js'
import { runCli } from '../../testkit/cli.js'

let dir: string
// A 10-s run that ended 2026-12-05 10:00:10 UTC ("date" is written when vllm bench serve ends).
const endMs = Date.UTC(2026, 11, 5, 10, 0, 10)
const startMs = endMs - 10_000

/** `vllm bench serve --save-result --save-detailed` output, keys as vllm/benchmarks/serve.py writes them. */
function vllmResult(): Record<string, unknown> {
  const n = 4
  return {
    date: '20261205-100010',
    endpoint_type: 'openai',
    backend: 'openai',
    label: null,
    model_id: 'meta-llama/Llama-3.1-8B-Instruct',
    tokenizer_id: 'meta-llama/Llama-3.1-8B-Instruct',
    num_prompts: n,
    request_rate: 'inf',
    burstiness: 1.0,
    max_concurrency: 4,
    duration: 10.0,
    completed: n,
    failed: 0,
    total_input_tokens: 400,
    total_output_tokens: 2000,
    request_throughput: 0.4,
    request_goodput: null,
    output_throughput: 200,
    total_token_throughput: 240,
    input_lens: [100, 100, 100, 100],
    output_lens: [500, 500, 500, 500],
    // seconds; each request: TTFT 0.1 s, then 499 gaps of 0.01 s
    ttfts: [0.1, 0.1, 0.1, 0.1],
    itls: Array.from({ length: n }, () => Array.from({ length: 499 }, () => 0.01)),
    generated_texts: ['a', 'b', 'c', 'd'],
    errors: ['', '', '', ''],
    mean_ttft_ms: 100,
    median_ttft_ms: 100,
    std_ttft_ms: 0,
    p99_ttft_ms: 100,
    mean_tpot_ms: 10,
    median_tpot_ms: 10,
    std_tpot_ms: 0,
    p99_tpot_ms: 10,
    mean_itl_ms: 10,
    median_itl_ms: 10,
    std_itl_ms: 0,
    p99_itl_ms: 10,
    mean_e2el_ms: 5090,
    median_e2el_ms: 5090,
    std_e2el_ms: 0,
    p99_e2el_ms: 5090,
  }
}

/** A wall-meter log: 500 W every second from `fromMs` to `toMs` (epoch seconds, as loggers write). */
function powerLog(fromMs: number, toMs: number): string {
  const lines = ['timestamp,power_w']
  for (let t = fromMs; t <= toMs; t += 1000) lines.push(`${t / 1000},500`)
  return `${lines.join('\n')}\n`
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tw-import-'))
  writeFileSync(join(dir, 'result.json'), JSON.stringify(vllmResult(), null, 2))
  writeFileSync(join(dir, 'power.csv'), powerLog(startMs - 5000, endMs + 5000))
  writeFileSync(join(dir, 'half.csv'), powerLog(startMs - 5000, startMs + 5000))
})

const store = (): string[] => ['--store', join(dir, 'runs.db')]

test('a vLLM detailed result with a power log: tokens/J and $/Mtok as worked by hand', async () => {
  const r = await runCli(['import', 'vllm', 'result.json', '--power', 'power.csv', '--usd-per-accelerator-hour', '3.6', '--accelerators', '1', '--utilization', '1', '--json', '--out', join(dir, 'out'), ...store()], { cwd: dir })
  assert.equal(r.code, 0, r.stderr)
  const s = JSON.parse(r.stdout) as RunSummary
  assert.equal(s.kind, 'imported')
  assert.deepEqual(s.provenance, {
    tool: 'vllm bench serve',
    version: 'vllm bench serve (vLLM 0.9–0.12)',
    format: 'vllm',
    file: 'result.json',
    unavailable: ['per-request send times (vLLM keeps per-request latencies, not timestamps), so no per-request records are stored'],
  })
  assert.equal(s.startedAt, new Date(startMs).toISOString())
  // 500 W over the 10-s span = 5000 J; 2000 output tokens → 0.4 tok/J, 2.5 J/token.
  assert.ok(Math.abs((s.power?.energyJ ?? 0) - 5000) < 1e-6, String(s.power?.energyJ))
  assert.equal(s.power?.coverage, 1)
  assert.ok(Math.abs((s.efficiency?.outputTokensPerJoule ?? 0) - 0.4) < 1e-9)
  assert.ok(Math.abs((s.efficiency?.joulesPerToken ?? 0) - 5000 / 2400) < 1e-9)
  // 200 tok/s → 720 000 tok/h at $3.60/h → $5.00 per million output tokens.
  assert.ok(Math.abs((s.cost?.usdPerMillionOutputTokens ?? 0) - 5) < 1e-9, String(s.cost?.usdPerMillionOutputTokens))
  // per-request figures from --save-detailed: TPOT = 4.99 s / 499 = 10 ms, E2E = 5.09 s
  assert.equal(s.latency.ttftMs.count, 4)
  assert.ok(Math.abs((s.latency.tpotMs.p50 ?? 0) - 10) < 1e-6)
  assert.ok(Math.abs((s.latency.e2eMs.p50 ?? 0) - 5090) < 1e-6)
  // an ordinary stored run: report reads it back
  const rep = await runCli(['runs', 'show', s.id, '--json', ...store()], { cwd: dir })
  assert.equal(rep.code, 0, rep.stderr)
  assert.equal((JSON.parse(rep.stdout) as RunSummary).efficiency?.outputTokensPerJoule, s.efficiency?.outputTokensPerJoule)
})

test('a power log covering half the span says so instead of guessing', async () => {
  const r = await runCli(['import', 'vllm', 'result.json', '--power', 'half.csv', '--json', '--out', join(dir, 'out'), ...store()], { cwd: dir })
  assert.equal(r.code, 0, r.stderr)
  const s = JSON.parse(r.stdout) as RunSummary
  assert.ok((s.power?.coverage ?? 1) < 0.6, String(s.power?.coverage))
})

test('without power the energy figures are null with a warning, never 0', async () => {
  const r = await runCli(['import', 'vllm', 'result.json', '--json', '--out', join(dir, 'out'), ...store()], { cwd: dir })
  assert.equal(r.code, 0, r.stderr)
  const s = JSON.parse(r.stdout) as RunSummary
  assert.equal(s.efficiency, null)
  assert.ok(s.warnings.some((w) => w.includes('no power meter')))
})

test('a bad field is refused with its line and name', async () => {
  const bad = { ...vllmResult(), total_output_tokens: 'many' }
  writeFileSync(join(dir, 'bad.json'), JSON.stringify(bad, null, 2))
  const r = await runCli(['import', 'vllm', 'bad.json', ...store()], { cwd: dir })
  assert.equal(r.code, ExitCode.Usage)
  assert.match(r.stderr, /bad\.json:\d+: total_output_tokens: expected a number/)
  const other = await runCli(['import', 'vllm', 'power.csv', ...store()], { cwd: dir })
  assert.equal(other.code, ExitCode.Usage)
  assert.match(other.stderr, /not valid JSON/)
})

test("InferenceX's benchmark_serving result (vLLM's shape plus benchmark_start_time_unix) gives the exact span", async () => {
  const exact = { ...vllmResult(), benchmark_start_time_unix: (startMs + 250) / 1000, benchmark_end_time_unix: (startMs + 10_250) / 1000 }
  writeFileSync(join(dir, 'inferencex-raw.json'), JSON.stringify(exact, null, 2))
  const r = await runCli(['import', 'vllm', 'inferencex-raw.json', '--power', 'power.csv', '--json', '--out', join(dir, 'out'), ...store()], { cwd: dir })
  assert.equal(r.code, 0, r.stderr)
  const s = JSON.parse(r.stdout) as RunSummary
  assert.equal(s.startedAt, new Date(startMs + 250).toISOString())
  assert.ok(!s.warnings.some((w) => w.includes('local time')))
  assert.ok(Math.abs((s.efficiency?.outputTokensPerJoule ?? 0) - 0.4) < 1e-9)
})
