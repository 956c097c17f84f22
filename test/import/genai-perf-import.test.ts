import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ExitCode } from '../../src/core/errors.js'
import type { RequestRecord } from '../../src/core/records.js'
import type { RunSummary } from '../../src/core/summary.js'
import { runCli } from '../../testkit/cli.js'

const startMs = Date.UTC(2026, 11, 5, 12, 0, 0)
const ns = (ms: number): number => ms * 1e6

/** One chat-completions SSE chunk as the server sent it and Perf Analyzer stored it (`response`). */
const chunk = (delta: Record<string, unknown>): { response: string } => ({
  response: `data: ${JSON.stringify({ id: 'cmpl-1', object: 'chat.completion.chunk', created: 1, model: 'llama-3-8b', choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`,
})

/**
 * A request in Perf Analyzer's profile_export.json shape (the openai example in genai-perf's
 * test_llm_profile_data_parser.py): a role chunk, `tokens` content chunks 100 ms apart after a TTFT,
 * an empty-delta chunk and [DONE].
 */
function request(sentMs: number, ttftMs: number, tokens: number, gapMs: number): Record<string, unknown> {
  const ts: number[] = [ns(sentMs + ttftMs - 1)]
  const outs: unknown[] = [chunk({ role: 'assistant' })]
  for (let i = 0; i < tokens; i++) {
    ts.push(ns(sentMs + ttftMs + i * gapMs))
    outs.push(chunk({ content: ` w${i}` }))
  }
  const lastMs = sentMs + ttftMs + (tokens - 1) * gapMs
  ts.push(ns(lastMs), ns(lastMs))
  outs.push(chunk({}), { response: 'data: [DONE]\n\n' })
  return {
    timestamp: ns(sentMs),
    request_inputs: { payload: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], model: 'llama-3-8b', stream: true }) },
    response_timestamps: ts,
    response_outputs: outs,
  }
}

function profileExport(): Record<string, unknown> {
  // Experiment 0: 4 requests, each 50 content chunks: TTFT 100 ms then 49 gaps of 100 ms (5.0 s), the
  // last one ending exactly 10 s after the first was sent. Experiment 1 starts 20 s later.
  const e0 = [request(startMs, 100, 50, 100), request(startMs + 1000, 100, 50, 100), request(startMs + 3000, 100, 50, 100), request(startMs + 5000, 100, 50, 100)]
  const e1 = [request(startMs + 20_000, 200, 50, 100), request(startMs + 25_000, 200, 50, 100)]
  return {
    service_kind: 'openai',
    endpoint: 'v1/chat/completions',
    experiments: [
      { experiment: { mode: 'concurrency', value: 4 }, requests: e0, window_boundaries: [ns(startMs), ns(startMs + 10_000)] },
      { experiment: { mode: 'request_rate', value: 2.0 }, requests: e1, window_boundaries: [ns(startMs + 20_000), ns(startMs + 30_000)] },
    ],
    version: '2.59.0',
  }
}

test('a GenAI-Perf profile_export.json: one run per experiment, records from its timestamps, tokens/J by hand', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-genai-'))
  writeFileSync(join(dir, 'profile_export.json'), JSON.stringify(profileExport(), null, 2))
  const log = ['timestamp,power_w']
  for (let t = startMs - 2000; t <= startMs + 40_000; t += 1000) log.push(`${new Date(t).toISOString()},500`)
  writeFileSync(join(dir, 'power.csv'), `${log.join('\n')}\n`)
  const store = ['--store', join(dir, 'runs.db')]
  const r = await runCli(['import', 'genai-perf', 'profile_export.json', '--power', 'power.csv', '--usd-per-accelerator-hour', '3.6', '--accelerators', '1', '--utilization', '1', '--json', '--out', join(dir, 'out'), ...store], { cwd: dir })
  assert.equal(r.code, 0, r.stderr)
  const [a, b] = JSON.parse(r.stdout) as RunSummary[]
  assert.ok(a && b)
  assert.equal(a.provenance?.benchmark, 'experiment 0 (concurrency 4)')
  assert.equal(a.provenance?.version, '2.59.0')
  assert.equal(a.target.model, 'llama-3-8b')
  assert.equal(a.window.durationS, 10)
  assert.equal(a.tokens.output, 200)
  assert.equal(a.tokens.source, 'client-count')
  // 500 W × 10 s = 5000 J → 200 / 5000 = 0.04 output tokens/J; 20 tok/s at $3.60/h → $50/Mtok
  assert.ok(Math.abs((a.efficiency?.outputTokensPerJoule ?? 0) - 0.04) < 1e-9, String(a.efficiency?.outputTokensPerJoule))
  assert.ok(Math.abs((a.cost?.usdPerMillionOutputTokens ?? 0) - 50) < 1e-9, String(a.cost?.usdPerMillionOutputTokens))
  // per-request figures from the chunk times: TTFT 100 ms, every ITL 100 ms, E2E 5.0 s
  assert.ok(Math.abs((a.latency.ttftMs.p50 ?? 0) - 100) < 1e-6)
  assert.ok(Math.abs((a.latency.itlMs.p99 ?? 0) - 100) < 1e-6)
  assert.ok(Math.abs((a.latency.e2eMs.max ?? 0) - 5000) < 1e-6)
  assert.ok(a.provenance?.unavailable?.some((u) => u.startsWith('input tokens')))
  // experiment 1: 100 tokens over 30 000 − 20 000 … its own span (25 s + 0.2 + 4.9 − 20 s = 10.1 s)
  assert.ok(Math.abs(b.window.durationS - 10.1) < 1e-9, String(b.window.durationS))
  assert.ok(Math.abs((b.efficiency?.outputTokensPerJoule ?? 0) - 100 / (500 * 10.1)) < 1e-9)

  // the records are stored as bench stores them, so compare re-judges both runs from raw samples
  const ex = await runCli(['runs', 'export', a.id, ...store], { cwd: dir })
  const doc = JSON.parse(ex.stdout) as { requests: RequestRecord[] }
  assert.equal(doc.requests.length, 4)
  assert.equal(doc.requests[0]?.chunkAtNs.length, 50)
  assert.equal(doc.requests[1]?.sentAtNs, 1e9)
  // report reads the stored records back: its percentile table has the 100 ms TTFT
  const md = await runCli(['report', a.id, '--format', 'md', ...store], { cwd: dir })
  assert.equal(md.code, 0, md.stderr)
  assert.match(md.stdout, /\| TTFT \| ms \| 4 \| 100 \| 100 \|/)
  const cmp = await runCli(['compare', a.id, b.id, '--slo-ttft-ms', '150', '--format', 'json', ...store], { cwd: dir })
  assert.equal(cmp.code, 0, cmp.stderr)
  const text = cmp.stdout
  // experiment 0 meets a 150 ms TTFT bound on every request, experiment 1 (200 ms) on none
  assert.match(text, /"attainment": 1\b/)
  assert.match(text, /"attainment": 0\b/)
})

test('a GenAI-Perf file without experiments is refused with the supported versions; a bad timestamp names its line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-genai-bad-'))
  writeFileSync(join(dir, 'other.json'), JSON.stringify({ service_kind: 'openai', results: [] }, null, 2))
  const store = ['--store', join(dir, 'runs.db')]
  const r = await runCli(['import', 'genai-perf', 'other.json', ...store], { cwd: dir })
  assert.equal(r.code, ExitCode.Usage)
  assert.match(r.stderr, /other\.json:1: experiments: missing/)
  assert.match(r.stderr, /supported: GenAI-Perf profile_export\.json/)
  const bad = profileExport()
  ;((bad.experiments as { requests: Record<string, unknown>[] }[])[0]?.requests[2] as Record<string, unknown>).timestamp = 'soon'
  const badText = JSON.stringify(bad, null, 2)
  writeFileSync(join(dir, 'bad.json'), badText)
  const b = await runCli(['import', 'genai-perf', 'bad.json', ...store], { cwd: dir })
  assert.equal(b.code, ExitCode.Usage)
  const line = badText.split('\n').findIndex((l) => l.includes('"soon"')) + 1
  assert.ok(b.stderr.includes(`bad.json:${line}: experiments[0].requests[2].timestamp: expected epoch ns`), b.stderr)
})
