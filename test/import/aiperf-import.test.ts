import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ExitCode } from '../../src/core/errors.js'
import type { RunSummary } from '../../src/core/summary.js'
import { runCli } from '../../testkit/cli.js'

const startMs = Date.UTC(2026, 11, 5, 11, 0, 0)

/** One MetricRecordInfo line in the shape AIPerf's docs show for profile_export.jsonl. */
function record(i: number, startNs: number, endNs: number, failed = false): string {
  return JSON.stringify({
    metadata: { session_num: i, x_request_id: `req-${i}`, x_correlation_id: `c-${i}`, conversation_id: `conv-${i}`, turn_index: 0, request_start_ns: startNs, request_ack_ns: startNs + 1e6, request_end_ns: endNs, worker_id: 'worker_1', record_processor_id: 'record_processor_1', benchmark_phase: 'profiling', was_cancelled: false, cancellation_time_ns: null },
    metrics: failed
      ? { error_isl: { value: 100, unit: 'tokens' } }
      : {
          input_sequence_length: { value: 100, unit: 'tokens' },
          time_to_first_token: { value: 100, unit: 'ms' },
          request_latency: { value: 5090, unit: 'ms' },
          output_token_count: { value: 500, unit: 'tokens' },
          output_sequence_length: { value: 500, unit: 'tokens' },
          inter_token_latency: { value: 10, unit: 'ms' },
          output_token_throughput_per_user: { value: 100, unit: 'tokens/sec/user' },
        },
    error: failed ? { code: 500, type: 'HTTPError', message: 'Internal Server Error' } : null,
  })
}

test('an AIPerf profile_export.jsonl with a power log: tokens/J by hand, failures counted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-aiperf-'))
  const ns = (ms: number): number => ms * 1e6
  // four requests over exactly 10 s (first start → last end), one failed
  const lines = [
    record(0, ns(startMs), ns(startMs + 5090)),
    record(1, ns(startMs + 1000), ns(startMs + 6090)),
    record(2, ns(startMs + 4910), ns(startMs + 10_000)),
    record(3, ns(startMs + 4000), ns(startMs + 9090)),
    record(4, ns(startMs + 2000), ns(startMs + 2001), true),
  ]
  writeFileSync(join(dir, 'profile_export.jsonl'), `${lines.join('\n')}\n`)
  const log = ['timestamp,power_w']
  for (let t = startMs - 3000; t <= startMs + 13_000; t += 1000) log.push(`${new Date(t).toISOString()},500`)
  writeFileSync(join(dir, 'power.csv'), `${log.join('\n')}\n`)
  const store = ['--store', join(dir, 'runs.db')]
  const r = await runCli(['import', 'aiperf', 'profile_export.jsonl', '--power', 'power.csv', '--usd-per-accelerator-hour', '3.6', '--accelerators', '1', '--utilization', '1', '--json', '--out', join(dir, 'out'), ...store], { cwd: dir })
  assert.equal(r.code, 0, r.stderr)
  const s = JSON.parse(r.stdout) as RunSummary
  assert.equal(s.window.durationS, 10)
  assert.equal(s.requests.succeeded, 4)
  assert.equal(s.requests.failed, 1)
  assert.equal(s.tokens.output, 2000)
  // 500 W × 10 s = 5000 J → 0.4 output tokens per joule; 200 tok/s at $3.60/h → $5/Mtok
  assert.ok(Math.abs((s.efficiency?.outputTokensPerJoule ?? 0) - 0.4) < 1e-9, String(s.efficiency?.outputTokensPerJoule))
  assert.ok(Math.abs((s.cost?.usdPerMillionOutputTokens ?? 0) - 5) < 1e-9)
  assert.ok(Math.abs((s.latency.tpotMs.p50 ?? 0) - 4990 / 499) < 1e-9)
  // every line is stored as a request record on the run's timeline, the failed one as data
  const ex = await runCli(['runs', 'export', s.id, ...store], { cwd: dir })
  const reqs = (JSON.parse(ex.stdout) as { requests: { sentAtNs: number; chunkAtNs: number[]; error: { status?: number } | null }[] }).requests
  assert.equal(reqs.length, 5)
  assert.deepEqual(reqs[0]?.chunkAtNs, [100e6, 5090e6])
  assert.equal(reqs.find((q) => q.error !== null)?.error?.status, 500)

  writeFileSync(join(dir, 'bad.jsonl'), `${lines[0]}\n${(lines[1] ?? '').replace('"request_end_ns":', '"request_end_ns":"x","was":')}\n`)
  const bad = await runCli(['import', 'aiperf', 'bad.jsonl', ...store], { cwd: dir })
  assert.equal(bad.code, ExitCode.Usage)
  assert.match(bad.stderr, /bad\.jsonl:2: metadata\.request_end_ns: expected epoch ns/)
  const unknown = await runCli(['import', 'locust', 'bad.jsonl', ...store], { cwd: dir })
  assert.equal(unknown.code, ExitCode.Usage)
  assert.match(unknown.stderr, /supported: vllm, aiperf, genai-perf, guidellm, inferencex/)
})

/** profile_export_aiperf.json as AIPerf's JSON export schema page and profile-exports tutorial show it. */
function aggregate(): Record<string, unknown> {
  return {
    schema_version: '1.5',
    aiperf_version: '0.14.0',
    benchmark_id: 'abc123',
    request_latency: { unit: 'ms', avg: 5090, min: 5000, max: 5200, p50: 5080, p90: 5150, p95: 5180, p99: 5199, std: 40, count: 4, sum: 20360 },
    time_to_first_token: { unit: 'ms', avg: 100, min: 90, max: 120, p50: 98, p90: 110, p95: 115, p99: 119, std: 8, count: 4, sum: 400 },
    inter_token_latency: { unit: 'ms', avg: 10, min: 9, max: 11, p50: 10, p90: 10.8, p95: 10.9, p99: 11, std: 0.5, count: 4, sum: 40 },
    output_sequence_length: { unit: 'tokens', avg: 500, min: 500, max: 500, p50: 500, count: 4, sum: 2000 },
    request_throughput: { unit: 'requests/sec', avg: 0.4 },
    output_token_throughput: { unit: 'tokens/sec', avg: 200 },
    benchmark_duration: { unit: 'sec', avg: 10 },
    request_count: { unit: 'requests', avg: 4 },
    error_request_count: { unit: 'requests', avg: 1 },
    total_isl: { unit: 'tokens', avg: 400 },
    total_osl: { unit: 'tokens', avg: 2000 },
    was_cancelled: false,
    start_time: '2026-12-05T11:00:00.000000',
    end_time: '2026-12-05T11:00:10.000000',
    input_config: { endpoint: { model_names: ['Qwen/Qwen3-0.6B'], url: 'http://localhost:8000', type: 'chat', streaming: true }, loadgen: { concurrency: 4 } },
    error_summary: [{ error_details: { code: 500, type: 'InternalServerError', message: 'boom' }, count: 1 }],
  }
}

test('an AIPerf profile_export_aiperf.json (summary only): tokens/J by hand, its own percentiles, what is unavailable', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-aiperf-agg-'))
  writeFileSync(join(dir, 'profile_export_aiperf.json'), JSON.stringify(aggregate(), null, 2))
  const log = ['timestamp,power_w']
  for (let t = startMs - 3000; t <= startMs + 13_000; t += 1000) log.push(`${t / 1000},500`)
  writeFileSync(join(dir, 'power.csv'), `${log.join('\n')}\n`)
  const store = ['--store', join(dir, 'runs.db')]
  const r = await runCli(['import', 'aiperf', 'profile_export_aiperf.json', '--power', 'power.csv', '--usd-per-accelerator-hour', '3.6', '--accelerators', '1', '--utilization', '1', '--json', '--out', join(dir, 'out'), ...store], { cwd: dir })
  assert.equal(r.code, 0, r.stderr)
  const s = JSON.parse(r.stdout) as RunSummary
  assert.equal(s.startedAt, new Date(startMs).toISOString())
  assert.equal(s.target.model, 'Qwen/Qwen3-0.6B')
  assert.equal(s.provenance?.version, '0.14.0')
  assert.equal(s.requests.succeeded, 4)
  assert.equal(s.requests.failed, 1)
  // 500 W × 10 s = 5000 J, 2000 output tokens → 0.4 tok/J; 200 tok/s at $3.60/h → $5/Mtok
  assert.ok(Math.abs((s.efficiency?.outputTokensPerJoule ?? 0) - 0.4) < 1e-9)
  assert.ok(Math.abs((s.efficiency?.joulesPerToken ?? 0) - 5000 / 2400) < 1e-9)
  assert.ok(Math.abs((s.cost?.usdPerMillionOutputTokens ?? 0) - 5) < 1e-9)
  // AIPerf's own percentiles, not recomputed; no records stored
  assert.equal(s.latency.ttftMs.p99, 119)
  assert.equal(s.latency.e2eMs.p50, 5080)
  assert.ok(s.provenance?.unavailable?.some((u) => u.startsWith('per-request records')))
  const ex = await runCli(['runs', 'export', s.id, ...store], { cwd: dir })
  assert.equal((JSON.parse(ex.stdout) as { requests: unknown[] }).requests.length, 0)

  writeFileSync(join(dir, 'v2.json'), JSON.stringify({ ...aggregate(), schema_version: '2.0' }, null, 2))
  const v2 = await runCli(['import', 'aiperf', 'v2.json', ...store], { cwd: dir })
  assert.equal(v2.code, ExitCode.Usage)
  assert.match(v2.stderr, /v2\.json:2: schema_version: unknown version "2\.0"/)
  assert.match(v2.stderr, /supported: AIPerf profile_export_aiperf\.json schema_version 1\.0–1\.5/)
  writeFileSync(join(dir, 'unit.json'), JSON.stringify({ ...aggregate(), total_osl: { unit: 'chars', avg: 9 } }, null, 2))
  const unit = await runCli(['import', 'aiperf', 'unit.json', ...store], { cwd: dir })
  assert.match(unit.stderr, /unit\.json:\d+: total_osl\.unit: expected "tokens", got "chars"/)
})
