import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { RunSummary } from '../../src/core/summary.js'
import { runCli } from '../../testkit/cli.js'
import { prometheusBinary, startFakeExporter, startPrometheus, type FakeExporter, type PrometheusServer } from '../meters/prometheus-fake.js'
import { wallMs, type Trace } from '../meters/redfish-fake.js'

// A real Prometheus (Debian's binary) scraping a fake dcgm-exporter every 200 ms; the exporter's two
// GPUs draw 600 W + 400 W, so any span of the history holds exactly 1000 W × its length.
const BINARY = prometheusBinary()
const constant: Trace = { powerW: () => 1000, energyJ: (t0, t) => (t - t0) }

let exporter: FakeExporter
let prom: PrometheusServer
let dir: string
let upMs: number

before(async () => {
  if (BINARY === null) return
  dir = mkdtempSync(join(tmpdir(), 'tw-import-prom-'))
  const origin = wallMs()
  exporter = await startFakeExporter(constant, origin, 7e9)
  prom = await startPrometheus(BINARY, exporter.port)
  upMs = wallMs()
  // until Prometheus has scraped well past the spans the tests read (the machine may be loaded)
  while (exporter.scrapes.filter((x) => x.wallMs > upMs + 3000).length < 3) await new Promise((r) => setTimeout(r, 100))
})

after(async () => {
  await prom?.close()
  await exporter?.close()
})

/** An AIPerf profile_export.jsonl of `n` requests filling [fromMs, toMs] exactly, 500 output tokens each. */
function aiperfRecords(fromMs: number, toMs: number, n: number): string {
  const lines: string[] = []
  const step = (toMs - fromMs) / n
  for (let i = 0; i < n; i++) {
    const s = fromMs + i * step
    const e = i === n - 1 ? toMs : s + step
    lines.push(
      JSON.stringify({
        metadata: { session_num: i, x_request_id: `r${i}`, conversation_id: `c${i}`, turn_index: 0, request_start_ns: Math.round(s * 1e6), request_ack_ns: Math.round(s * 1e6) + 1e6, request_end_ns: Math.round(e * 1e6), worker_id: 'worker_1', record_processor_id: 'record_processor_1', benchmark_phase: 'profiling', was_cancelled: false, cancellation_time_ns: null },
        metrics: {
          input_sequence_length: { value: 100, unit: 'tokens' },
          time_to_first_token: { value: 50, unit: 'ms' },
          request_latency: { value: e - s, unit: 'ms' },
          output_sequence_length: { value: 500, unit: 'tokens' },
        },
        error: null,
      }),
    )
  }
  return `${lines.join('\n')}\n`
}

test('--meter prometheus: energy over the run span from the Prometheus history, coverage 1', { skip: BINARY === null ? 'prometheus binary not installed' : false }, async () => {
  const from = upMs + 500
  const to = upMs + 2500
  writeFileSync(join(dir, 'profile_export.jsonl'), aiperfRecords(from, to, 4))
  const r = await runCli(['import', 'aiperf', 'profile_export.jsonl', '--meter', `prometheus:dcgm@${prom.url}`, '--json', '--out', join(dir, 'out'), '--store', join(dir, 'runs.db')], { cwd: dir })
  assert.equal(r.code, 0, r.stderr)
  const s = JSON.parse(r.stdout) as RunSummary
  // 1000 W × 2 s = 2000 J (counter difference, interpolated at the edges); 2000 output tokens → 1 tok/J.
  // Prometheus stamps a scrape when it starts and the exporter reads its clock when it answers, so
  // each edge may be off by that delay × 1000 W: 3 % allows 30 ms of it per edge on a loaded machine.
  assert.ok(Math.abs((s.power?.energyJ ?? 0) - 2000) < 60, String(s.power?.energyJ))
  assert.equal(s.power?.coverage, 1)
  assert.ok(Math.abs((s.efficiency?.outputTokensPerJoule ?? 0) - 1) < 0.03, String(s.efficiency?.outputTokensPerJoule))
  assert.equal(s.power?.meters[0]?.kind, 'prometheus')
})

test('--meter prometheus over a span that starts before the history says so (coverage < 1)', { skip: BINARY === null ? 'prometheus binary not installed' : false }, async () => {
  // Half the span lies before Prometheus first scraped the exporter.
  const from = upMs - 3000
  const to = upMs + 3000
  writeFileSync(join(dir, 'early.jsonl'), aiperfRecords(from, to, 4))
  const r = await runCli(['import', 'aiperf', 'early.jsonl', '--meter', `prometheus:dcgm@${prom.url}`, '--json', '--out', join(dir, 'out'), '--store', join(dir, 'runs.db')], { cwd: dir })
  assert.equal(r.code, 0, r.stderr)
  const s = JSON.parse(r.stdout) as RunSummary
  const cov = s.power?.coverage ?? 1
  assert.ok(cov < 0.75 && cov > 0.25, String(cov))
})

test('--meter prometheus with nothing in the span is a one-line error naming the span', { skip: BINARY === null ? 'prometheus binary not installed' : false }, async () => {
  const from = upMs - 3_600_000
  writeFileSync(join(dir, 'old.jsonl'), aiperfRecords(from, from + 2000, 2))
  const r = await runCli(['import', 'aiperf', 'old.jsonl', '--meter', `prometheus:dcgm@${prom.url}`, '--store', join(dir, 'runs.db')], { cwd: dir })
  assert.notEqual(r.code, 0)
  assert.match(r.stderr, /returned no series between /)
  assert.doesNotMatch(r.stderr, /\n\s+at /)
  const other = await runCli(['import', 'aiperf', 'old.jsonl', '--meter', 'nvml', '--store', join(dir, 'runs.db')], { cwd: dir })
  assert.match(other.stderr, /import reads past power from Prometheus only/)
})
