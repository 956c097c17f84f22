import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { startMockServer, type MockServer } from '../../src/engines/mock/index.js'
import type { RunSummary } from '../../src/core/summary.js'
import { runCli } from '../../testkit/cli.js'
import { freeTcpPort, prometheusBinary, startRealPrometheus, type PrometheusServer as RealPrometheus } from '../meters/prometheus-fake.js'

// A real Prometheus is the point of this file. Without the binary it cannot run: say so loudly.
const BINARY = prometheusBinary()
const SKIP = BINARY === null ? 'SKIPPED: the `prometheus` binary is not on PATH — install the Debian package: apt-get install -y prometheus' : false
if (SKIP) process.stderr.write(`\n*** test/monitor/monitor-prometheus.test.ts ${SKIP} ***\n\n`)

const LOAD_CLIENT = fileURLToPath(new URL('../../testkit/monitor/load-client.mjs', import.meta.url))
const DASHBOARD = fileURLToPath(new URL('../../deploy/grafana/tokenwatt.json', import.meta.url))

function generateLoad(baseUrl: string, concurrency: number, durationMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOAD_CLIENT, baseUrl, String(concurrency), String(durationMs), '24'], { stdio: ['ignore', 'ignore', 'inherit'] })
    child.on('error', reject)
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`load client exited ${code}`))))
  })
}

let dir: string
let mock: MockServer
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tw-monitor-prom-'))
  mock = await startMockServer({ port: 0, ttftMs: 10, itlMs: 3 })
})
after(async () => {
  await mock?.close()
  rmSync(dir, { recursive: true, force: true })
})

interface Panel {
  title: string
  targets: { expr: string }[]
}

test('monitor through a real Prometheus, exporter scraped by it, every Grafana panel query non-empty there', { skip: SKIP }, async () => {
  const store = join(dir, 'tw.db')
  // A bench of the same system gives the capacity that utilisation is measured against.
  const bench = await runCli(['bench', '--endpoint', mock.baseUrl, '--model', 'mock', '--concurrency', '4', '--duration', '2', '--out', dir, '--store', store, '--json', '--no-progress'], { cwd: dir })
  assert.equal(bench.code, 0, bench.stderr)
  const benchId = (JSON.parse(bench.stdout) as RunSummary).id

  const exporterPort = await freeTcpPort()
  const mockHostPort = new URL(mock.url).host
  // the tokenwatt job's target is the monitor's exporter, which starts below
  const prom: RealPrometheus = await startRealPrometheus(BINARY as string, { vllm: mockHostPort, tokenwatt: `127.0.0.1:${exporterPort}` }, ['vllm'])
  try {
    const load = generateLoad(mock.baseUrl, 3, 9000)
    const monitor = runCli(
      [
        'monitor', '--prometheus', prom.url, '--selector', '{job="vllm"}', '--preset', 'vllm',
        '--meter', `mock:${mock.url}`, '--device-watts', '700', '--usd-per-kwh', '0.1', '--hw-preset', 'h100', '--accelerators', '1',
        '--capacity-from', benchId, '--alert', 'tokens_per_joule < 100000 for 1s',
        '--exporter', `127.0.0.1:${exporterPort}`, '--interval', '0.4s', '--duration', '7s', '--out', dir, '--store', store, '--json',
      ],
      { cwd: dir },
    )
    // While the monitor runs, Prometheus scrapes its exporter; evaluate the dashboard there.
    await new Promise((r) => setTimeout(r, 5500))
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[]; templating: { list: { name: string; type: string }[] } }
    assert.ok(dashboard.templating.list.some((v) => v.name === 'datasource' && v.type === 'datasource'), 'the datasource is a variable')
    const empty: string[] = []
    let queries = 0
    for (const p of dashboard.panels) {
      for (const t of p.targets) {
        const expr = t.expr.replaceAll('$window', '1m').replaceAll('$__rate_interval', '3s')
        queries++
        const result = await prom.query(expr)
        if (result.length === 0) empty.push(`${p.title}: ${expr}`)
      }
    }
    assert.ok(queries >= 14)
    assert.deepEqual(empty, [], 'every panel query returns series')
    const tpj = await prom.query('tokenwatt_output_tokens_per_joule{window="1m"}')
    assert.equal(tpj[0]?.metric.boundary, 'device')
    assert.ok(Number(tpj[0]?.value[1]) > 0)
    const firing = await prom.query('tokenwatt_alert_firing == 1')
    assert.equal(firing[0]?.metric.alert, 'tokens_per_joule < 100000 for 1s')

    const run = await monitor
    await load
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stderr, /alert FIRING: tokens_per_joule < 100000 for 1s/)
    const s = JSON.parse(run.stdout) as RunSummary
    assert.ok(s.tokens.output > 500, `${s.tokens.output} tokens read through Prometheus`)
    assert.ok((s.efficiency?.outputTokensPerJoule ?? 0) > 0)
    assert.ok((s.efficiency?.outputTokensPerSPerProvisionedMW ?? 0) > 0, 'provisioned basis from --device-watts')
    assert.ok((s.cost?.usdPerMillionOutputTokens ?? 0) > 0)
    const util = (s.monitor as { utilization: number | null }).utilization
    const cmp = await runCli(['compare', benchId, s.id, '--store', store], { cwd: dir })
    assert.equal(cmp.code, 0, cmp.stderr)
    assert.ok(cmp.stdout.includes(s.id.slice(0, 8)) || cmp.stdout.includes(s.id), 'compare lists the monitor session beside the bench')
    assert.ok(util !== null && util > 0 && util < 1.5, `utilisation ${util} of the bench's capacity`)
  } finally {
    await prom.close()
  }
})

test('a Prometheus that goes down mid-session, and one that is down from the start', { skip: SKIP }, async () => {
  const prom = await startRealPrometheus(BINARY as string, { vllm: new URL(mock.url).host })
  let closed = false
  try {
    const load = generateLoad(mock.baseUrl, 2, 4000)
    const monitor = runCli(['monitor', '--prometheus', prom.url, '--interval', '0.3s', '--duration', '4s', '--out', dir, '--store', join(dir, 'tw2.db'), '--json'], { cwd: dir })
    await new Promise((r) => setTimeout(r, 2000))
    await prom.close()
    closed = true
    const run = await monitor
    await load
    assert.equal(run.code, 0, run.stderr)
    const s = JSON.parse(run.stdout) as RunSummary
    const reps = (s.monitor as { replicas: { target: string; scrapeErrors: number; up: boolean }[] }).replicas
    const p = reps.find((r) => r.target === prom.url)
    assert.ok(p && p.scrapeErrors >= 3 && !p.up, `Prometheus' failed rounds are counted: ${JSON.stringify(reps)}`)
    assert.ok(s.warnings.some((w) => w.includes(prom.url)), s.warnings.join('\n'))
    assert.ok(s.tokens.output > 0, 'tokens counted before it went down are kept')
  } finally {
    if (!closed) await prom.close()
  }
  const down = await runCli(['monitor', '--prometheus', prom.url, '--duration', '1s', '--store', join(dir, 'tw3.db')], { cwd: dir })
  assert.equal(down.code, 3, down.stderr)
  assert.match(down.stderr, /Prometheus at .* did not answer/)
  assert.match(down.stderr, /hint:/)
})
