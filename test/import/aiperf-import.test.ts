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

  writeFileSync(join(dir, 'bad.jsonl'), `${lines[0]}\n${(lines[1] ?? '').replace('"request_end_ns":', '"request_end_ns":"x","was":')}\n`)
  const bad = await runCli(['import', 'aiperf', 'bad.jsonl', ...store], { cwd: dir })
  assert.equal(bad.code, ExitCode.Usage)
  assert.match(bad.stderr, /bad\.jsonl:2: metadata\.request_end_ns: expected epoch ns/)
  const unknown = await runCli(['import', 'locust', 'bad.jsonl', ...store], { cwd: dir })
  assert.equal(unknown.code, ExitCode.Usage)
  assert.match(unknown.stderr, /supported: vllm, aiperf, genai-perf, guidellm, inferencex/)
})
