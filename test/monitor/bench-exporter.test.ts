import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { parseExposition } from '../../src/core/monitor/exposition.js'
import type { RunSummary } from '../../src/core/summary.js'
import { startMockServer } from '../../src/engines/mock/index.js'
import { runCli } from '../../testkit/cli.js'
import { freeTcpPort } from '../meters/prometheus-fake.js'

test('bench --exporter serves live power, energy and request counters on /metrics while it runs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-bench-exporter-'))
  const mock = await startMockServer({ port: 0, ttftMs: 5, itlMs: 2, power: { idleW: 90, perStreamW: 10 } })
  const port = await freeTcpPort()
  try {
    const bench = runCli(['bench', '--endpoint', mock.baseUrl, '--model', 'mock', '--concurrency', '3', '--duration', '3', '--meter', `mock:${mock.url}`, '--exporter', String(port), '--out', dir, '--store', join(dir, 'tw.db'), '--json', '--no-progress'], { cwd: dir })
    const seen: { requests: number; energyJ: number; powerW: number | null }[] = []
    for (let i = 0; i < 12; i++) {
      await new Promise((r) => setTimeout(r, 250))
      const body = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => (r.ok ? r.text() : null), () => null)
      if (body === null) continue
      const p = parseExposition(body)
      assert.equal(p.errors.length, 0, 'prom-client output parses cleanly')
      const val = (name: string, f: (l: Record<string, string>) => boolean = () => true): number | null => p.samples.find((s) => s.name === name && f(s.labels))?.value ?? null
      seen.push({
        requests: val('tokenwatt_bench_requests_total', (l) => l.outcome === 'ok') ?? 0,
        energyJ: val('tokenwatt_energy_joules_total', (l) => l.boundary === 'device') ?? 0,
        powerW: val('tokenwatt_power_watts'),
      })
    }
    const run = await bench
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stderr, new RegExp(`exporter: http://127\\.0\\.0\\.1:${port}/metrics`))
    const s = JSON.parse(run.stdout) as RunSummary
    assert.ok(seen.length >= 6, `${seen.length} scrapes answered while the bench ran`)
    const last = seen[seen.length - 1]!
    assert.ok(seen[0]!.requests < last.requests, `the request counter grows while the run goes on: ${JSON.stringify(seen)}`)
    assert.ok(last.requests <= s.requests.succeeded)
    assert.ok(last.powerW !== null && last.powerW >= 90, 'live power of the mock accelerator')
    assert.ok(last.energyJ > 90, `energy counter ${last.energyJ} J after > 1 s at ≥ 90 W`)
    const refused = await fetch(`http://127.0.0.1:${port}/metrics`).then(() => 'open', () => 'closed')
    assert.equal(refused, 'closed', 'the exporter stops with the run')
  } finally {
    await mock.close()
    rmSync(dir, { recursive: true, force: true })
  }
})
