import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ExitCode } from '../../src/core/errors.js'
import type { RunSummary } from '../../src/core/summary.js'
import { runCli } from '../../testkit/cli.js'

/**
 * An InferenceX agg result as utils/process_result.py writes it (vLLM's *_ms latencies in seconds,
 * throughput ÷ tp, intvty = 1000 / tpot ms) and utils/aggregate_power.py patches it. Worked example:
 * 8 GPUs at 700 W for 10 s = 56 000 J; 20 000 output + 4 000 input tokens.
 */
function agg(): Record<string, unknown> {
  return {
    hw: 'h200',
    tp: 8,
    ep: 1,
    dp_attention: 'false',
    conc: 64,
    model: 'deepseek-ai/DeepSeek-R1-0528',
    framework: 'sglang',
    precision: 'fp8',
    tput_per_gpu: 300,
    output_tput_per_gpu: 250,
    mean_ttft: 0.25,
    median_ttft: 0.2,
    std_ttft: 0.05,
    p99_ttft: 0.6,
    mean_tpot: 0.02,
    median_tpot: 0.019,
    p99_tpot: 0.03,
    mean_intvty: 50,
    median_intvty: 52.63,
    mean_e2el: 6.0,
    median_e2el: 5.9,
    p99_e2el: 8.1,
    power_valid: 1,
    avg_power_w: 700,
    avg_total_gpu_power_w: 5600,
    total_gpu_energy_j: 56000,
    joules_per_successful_query: 875,
    joules_per_input_token: 14,
    joules_per_output_token: 2.8,
    joules_per_total_token: 2.333333,
  }
}

test("an InferenceX aggregate: its own GPU energy is the run's measured power; tokens/J and $/Mtok by hand", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-inferencex-'))
  writeFileSync(join(dir, 'agg_dsr1.json'), JSON.stringify(agg(), null, 2))
  const store = ['--store', join(dir, 'runs.db')]
  const r = await runCli(['import', 'inferencex', 'agg_dsr1.json', '--start', '2026-12-05T14:00:00Z', '--usd-per-accelerator-hour', '2', '--accelerators', '8', '--utilization', '1', '--json', '--out', join(dir, 'out'), ...store], { cwd: dir })
  assert.equal(r.code, 0, r.stderr)
  const s = JSON.parse(r.stdout) as RunSummary
  assert.equal(s.startedAt, '2026-12-05T14:00:00.000Z')
  // window 56 000 J ÷ 5600 W = 10 s; output tokens 56 000 ÷ 2.8 = 20 000 → 0.357 tok/J
  assert.ok(Math.abs(s.window.durationS - 10) < 1e-9)
  assert.equal(s.tokens.output, 20_000)
  assert.equal(s.tokens.input, 4_000)
  assert.equal(s.requests.succeeded, 64)
  assert.ok(Math.abs((s.power?.energyJ ?? 0) - 56_000) < 1e-6, String(s.power?.energyJ))
  assert.equal(s.power?.coverage, 1)
  assert.ok(Math.abs((s.efficiency?.outputTokensPerJoule ?? 0) - 1 / 2.8) < 1e-9)
  // 8 × $2/h = $16/h over 2000 tok/s = 7.2 M tok/h → $2.222…/Mtok
  assert.ok(Math.abs((s.cost?.usdPerMillionOutputTokens ?? 0) - 16 / 7.2) < 1e-9, String(s.cost?.usdPerMillionOutputTokens))
  assert.ok(Math.abs((s.latency.ttftMs.p99 ?? 0) - 600) < 1e-9)
  assert.ok(s.provenance?.unavailable?.some((u) => u.startsWith('per-request records')))

  // without --start the run is placed nowhere: it says so, and a power log cannot be laid on it
  const noStart = await runCli(['import', 'inferencex', 'agg_dsr1.json', '--json', '--out', join(dir, 'out'), ...store], { cwd: dir })
  assert.equal(noStart.code, 0, noStart.stderr)
  assert.ok((JSON.parse(noStart.stdout) as RunSummary).warnings.some((w) => w.includes('no wall-clock time')))
  writeFileSync(join(dir, 'power.csv'), 'timestamp,power_w\n0,500\n')
  const log = await runCli(['import', 'inferencex', 'agg_dsr1.json', '--power', 'power.csv', ...store], { cwd: dir })
  assert.equal(log.code, ExitCode.Usage)
  assert.match(log.stderr, /records no wall-clock time/)
})

test('an InferenceX aggregate without valid power is refused, pointing at the raw result', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-inferencex-bad-'))
  writeFileSync(join(dir, 'agg.json'), JSON.stringify({ ...agg(), power_valid: 0 }, null, 2))
  const r = await runCli(['import', 'inferencex', 'agg.json', '--store', join(dir, 'runs.db')], { cwd: dir })
  assert.equal(r.code, ExitCode.Usage)
  assert.match(r.stderr, /agg\.json:\d+: power_valid: is 0/)
  assert.match(r.stderr, /tokenwatt import vllm RESULT\.json/)
  writeFileSync(join(dir, 'raw.json'), JSON.stringify({ completed: 4, duration: 10 }))
  const raw = await runCli(['import', 'inferencex', 'raw.json', '--store', join(dir, 'runs.db')], { cwd: dir })
  assert.match(raw.stderr, /not an InferenceX aggregate result/)
})
