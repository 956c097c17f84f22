import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { openStore } from '../../src/adapters/store/sqlite-store.js'
import { startMockServer, type MockServer } from '../../src/engines/mock/index.js'
import type { MockPowerReading } from '../../src/engines/mock/index.js'
import type { RunSummary } from '../../src/core/summary.js'
import { RunSummarySchema } from '../../src/core/summary-schema.js'
import { runCli } from '../../testkit/cli.js'

const LOAD_CLIENT = fileURLToPath(new URL('../../testkit/monitor/load-client.mjs', import.meta.url))

/** Traffic from a separate process, as production traffic would be: the monitor only sees /metrics. */
function generateLoad(baseUrl: string, concurrency: number, durationMs: number, maxTokens: number): Promise<{ requests: number; errors: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOAD_CLIENT, baseUrl, String(concurrency), String(durationMs), String(maxTokens)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.on('error', reject)
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as { requests: number; errors: number }) : reject(new Error(`load client exited ${code}`))))
  })
}

/** Polls the mock's power trace in-process (its exact energy counter), to integrate any window later. */
function recordTrace(mock: MockServer): { readings: MockPowerReading[]; stop(): void } {
  const readings: MockPowerReading[] = [mock.power()]
  const t = setInterval(() => readings.push(mock.power()), 10)
  return { readings, stop: () => clearInterval(t) }
}

function energyAt(readings: readonly MockPowerReading[], wallMs: number): number {
  for (let i = 1; i < readings.length; i++) {
    const a = readings[i - 1] as MockPowerReading
    const b = readings[i] as MockPowerReading
    if (b.timeMs >= wallMs) return a.energyJ + ((b.energyJ - a.energyJ) * (wallMs - a.timeMs)) / Math.max(1e-9, b.timeMs - a.timeMs)
  }
  throw new Error(`no trace reading after ${wallMs}`)
}

let dir: string
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tw-monitor-'))
})
after(() => rmSync(dir, { recursive: true, force: true }))

test('monitor --preset vllm against the mock: tokens/J = server-counted tokens ÷ trace energy over the same window (1 %)', async (t) => {
  const mock = await startMockServer({ port: 0, ttftMs: 20, itlMs: 4, power: { idleW: 80, perStreamW: 15 } })
  const trace = recordTrace(mock)
  try {
    const load = generateLoad(mock.baseUrl, 4, 5500, 48)
    const run = await runCli(
      ['monitor', '--server-metrics', `${mock.url}/metrics`, '--preset', 'vllm', '--meter', `mock:${mock.url}`, '--interval', '0.5s', '--duration', '4s', '--out', dir, '--store', join(dir, 'tw.db'), '--json'],
      { cwd: dir },
    )
    assert.equal(run.code, 0, run.stderr)
    const generated = await load
    trace.stop()
    assert.ok(generated.requests > 20 && generated.errors === 0, JSON.stringify(generated))
    const summary = JSON.parse(run.stdout) as RunSummary
    RunSummarySchema.parse(summary)
    assert.equal(summary.kind, 'monitor')
    assert.equal(summary.tokens.source, 'server-counters')
    assert.equal(summary.target.model, 'mock', 'the model comes from the series\' model_name label')

    // The session's window in wall-clock time, from the store's epoch anchor.
    const store = openStore(join(dir, 'tw.db'))
    const epoch = store.getManifest(summary.id).epochWallMs
    const ticks = store.getMonitorTicks(summary.id)
    store.close()
    const w0 = epoch + summary.window.startS * 1000
    const w1 = epoch + summary.window.endS * 1000
    assert.ok(ticks.length >= 8, `${ticks.length} rounds stored as they came`)

    // Ground truth, independently: the mock's own record of every content chunk it wrote.
    let tokens = 0
    for (const r of mock.groundTruth()) for (const c of r.chunks) if (c.kind === 'content' && c.atWallMs > w0 && c.atWallMs <= w1) tokens += c.tokens
    const energyJ = energyAt(trace.readings, w1) - energyAt(trace.readings, w0)
    assert.ok(tokens > 1000, `${tokens} tokens in the window`)
    assert.ok(Math.abs(summary.tokens.output - tokens) / tokens < 0.01, `monitor counted ${summary.tokens.output}, the server wrote ${tokens}`)
    const expected = tokens / energyJ
    const got = summary.efficiency?.outputTokensPerJoule
    t.diagnostic(`window ${summary.window.durationS.toFixed(2)} s: monitor ${summary.tokens.output} tokens, ${got?.toFixed(4)} tok/J; ground truth ${tokens} tokens / ${energyJ.toFixed(1)} J = ${expected.toFixed(4)} tok/J`)
    assert.ok(got !== null && got !== undefined && Math.abs(got - expected) / expected < 0.01, `tokens/J ${got} vs ${expected} (server tokens ÷ trace energy)`)
    assert.equal(summary.power?.boundary, 'device')
    assert.ok((summary.latency.ttftMs.p50 ?? 0) >= 20, 'TTFT percentiles from the server histogram (the mock waits 20 ms + prefill)')
    const mon = summary.monitor as { replicas: { target: string; up: boolean; scrapeErrors: number }[]; windows: { window: string }[] }
    assert.deepEqual(mon.windows.map((x) => x.window), ['1m', '15m', '1h', 'all'])
    assert.equal(mon.replicas[0]?.scrapeErrors, 0)
    // summary.json on disk is the same document.
    const onDisk = JSON.parse(readFileSync(join(dir, summary.id, 'summary.json'), 'utf8')) as RunSummary
    assert.equal(onDisk.tokens.output, summary.tokens.output)

    // report / compare / verify read a monitor session like any run.
    const rep = await runCli(['report', summary.id, '--store', join(dir, 'tw.db'), '--format', 'md'], { cwd: dir })
    assert.equal(rep.code, 0, rep.stderr)
    const ver = await runCli(['verify', summary.id, '--store', join(dir, 'tw.db'), '--claim', 'output_tokens_per_joule > 0'], { cwd: dir })
    assert.equal(ver.code, 0, ver.stderr + ver.stdout)
  } finally {
    trace.stop()
    await mock.close()
  }
})

test('a replica that disappears and comes back restarted: scrape errors and the counter reset counted and shown, no crash', async () => {
  const a = await startMockServer({ port: 0, ttftMs: 5, itlMs: 2 })
  let b = await startMockServer({ port: 0, ttftMs: 5, itlMs: 2 })
  const bPort = b.port
  const bMetrics = `${b.url}/metrics`
  try {
    const loadA = generateLoad(a.baseUrl, 2, 4500, 16)
    const loadB = generateLoad(b.baseUrl, 2, 1200, 16)
    const monitor = runCli(['monitor', '--server-metrics', `${a.url}/metrics,${bMetrics}`, '--interval', '0.3s', '--duration', '4s', '--out', dir, '--store', join(dir, 'tw2.db'), '--json'], { cwd: dir })
    await loadB.catch(() => undefined)
    await new Promise((r) => setTimeout(r, 300))
    await b.close() // the replica disappears …
    await new Promise((r) => setTimeout(r, 1000))
    b = await startMockServer({ port: bPort, ttftMs: 5, itlMs: 2 }) // … and comes back, counters from zero
    const loadB2 = generateLoad(b.baseUrl, 1, 800, 4)
    const run = await monitor
    await Promise.all([loadA, loadB2])
    assert.equal(run.code, 0, run.stderr)
    const s = JSON.parse(run.stdout) as RunSummary
    const reps = (s.monitor as { replicas: { target: string; scrapeErrors: number; counterResets: number; up: boolean }[] }).replicas
    const rb = reps.find((r) => r.target === bMetrics)
    assert.ok(rb && rb.scrapeErrors >= 2, `replica b failed scrapes: ${JSON.stringify(rb)}`)
    assert.ok(rb.counterResets >= 1, `the restart is seen as a counter reset: ${JSON.stringify(rb)}`)
    assert.ok(rb.up, 'b is up again at the end')
    assert.ok(s.warnings.some((w) => w.includes(bMetrics) && w.includes('scrape(s) failed')), s.warnings.join('\n'))
    assert.ok(s.warnings.some((w) => w.includes('counter reset')), s.warnings.join('\n'))
    assert.ok(s.tokens.output > 0)
    assert.ok(run.stderr.includes('replicas 1/2 up'), 'the live line shows the missing replica')
  } finally {
    await a.close()
    await b.close().catch(() => undefined)
  }
})

test('no replica answering is a one-line preflight error with a hint', async () => {
  const run = await runCli(['monitor', '--server-metrics', 'http://127.0.0.1:9/metrics', '--duration', '1s', '--store', join(dir, 'tw3.db')], { cwd: dir })
  assert.equal(run.code, 3)
  assert.match(run.stderr, /no replica answered on \/metrics/)
  assert.match(run.stderr, /hint:/)
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace')
})

test('Ctrl-C ends a session without --duration: summary written, exit 0', async () => {
  const mock = await startMockServer({ port: 0, ttftMs: 5, itlMs: 2 })
  try {
    const load = generateLoad(mock.baseUrl, 2, 2500, 16)
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 1800)
    const run = await runCli(['monitor', '--server-metrics', `${mock.url}/metrics`, '--interval', '0.3s', '--out', dir, '--store', join(dir, 'tw4.db'), '--json'], { cwd: dir, signal: ac.signal })
    await load
    assert.equal(run.code, 0, run.stderr)
    const s = JSON.parse(run.stdout) as RunSummary
    assert.equal(s.status, 'complete')
    assert.ok(s.window.durationS > 1 && s.window.durationS < 2.5, `${s.window.durationS} s`)
    assert.ok(s.tokens.output > 0)
    assert.equal(s.power, null, 'no meter: power is null, with a warning saying why')
    assert.ok(s.warnings.some((w) => w.includes('no power meter')))
  } finally {
    await mock.close()
  }
})

test('bad monitor input is one line with a hint: both sources, custom without a mapping, a bad alert', async () => {
  const both = await runCli(['monitor', '--server-metrics', 'http://127.0.0.1:9/metrics', '--prometheus', 'http://127.0.0.1:9'], { cwd: dir })
  assert.equal(both.code, 2)
  assert.match(both.stderr, /cannot be combined/)
  const custom = await runCli(['monitor', '--server-metrics', 'http://127.0.0.1:9/metrics', '--preset', 'custom'], { cwd: dir })
  assert.equal(custom.code, 2)
  assert.match(custom.stderr, /mapping\.outputTokens: preset custom needs mapping\.outputTokens/)
  const alert = await runCli(['monitor', '--server-metrics', 'http://127.0.0.1:9/metrics', '--alert', 'tokens_per_watt < 2', '--store', join(dir, 'tw5.db')], { cwd: dir })
  assert.equal(alert.code, 2)
  assert.match(alert.stderr, /unknown figure tokens_per_watt/)
  const none = await runCli(['monitor'], { cwd: dir })
  assert.equal(none.code, 2)
  assert.match(none.stderr, /no servers to watch/)
  for (const r of [both, custom, alert, none]) assert.doesNotMatch(r.stderr, /\n\s+at /)
})
