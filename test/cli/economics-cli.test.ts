import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { startMockServer, type MockServer } from '../../src/engines/mock/index.js'
import { ExitCode } from '../../src/core/errors.js'
import type { RunSummary } from '../../src/core/summary.js'
import { runCli } from '../../testkit/cli.js'

let dir: string
let mock: MockServer
const runs: RunSummary[] = []
const store = (): string[] => ['--store', join(dir, 'runs.db')]

// Two real runs against the mock engine over HTTP, metered by its power trace, priced by a cost: section.
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tw-econ-'))
  mock = await startMockServer({ port: 0, ttftMs: 20, itlMs: 3, models: ['<b>mock</b>'] })
  writeFileSync(
    join(dir, 'bench.yaml'),
    [
      'cost:',
      '  preset: h100',
      '  accelerators: 1',
      '  mode: own',
      '  own: { serverCapexUsdPerAccelerator: 33750, colocationUsdPerKwMonth: 160 }',
      '  usdPerKwh: 0.08',
      '  price: { usdPerMillionOutputTokens: 2 }',
      'slo: { ttftMs: 80 }',
      'meters:',
      '  - kind: mock',
      '    boundary: device',
      'boundary: device',
      '',
    ].join('\n'),
  )
  for (const c of ['2', '8']) {
    const r = await runCli(['bench', '-c', join(dir, 'bench.yaml'), '--endpoint', mock.baseUrl, '--concurrency', c, '--requests', '64', '--output-tokens', '16', '--json', '--out', join(dir, 'out'), '--no-progress', ...store()], { cwd: dir })
    assert.equal(r.code, 0, r.stderr)
    runs.push(JSON.parse(r.stdout) as RunSummary)
  }
})
after(async () => {
  await mock.close()
})

test('bench priced the run from its cost: section', () => {
  const s = runs[0]!
  assert.equal(s.cost?.currency, 'USD')
  assert.ok((s.cost?.usdPerMillionOutputTokens ?? 0) > 0)
  assert.ok(s.power && s.power.energyJ !== null)
})

test('report: HTML file with every chart, escaped model name; Markdown, CSV and JSON to stdout', async () => {
  const id = runs[1]!.id
  const html = await runCli(['report', id, ...store()], { cwd: dir })
  assert.equal(html.code, 0, html.stderr)
  const file = join(dir, `${id}.html`)
  assert.equal(html.stderr, `report: ${file}\n`)
  const page = readFileSync(file, 'utf8')
  assert.ok(!page.includes('<b>mock</b>'))
  assert.ok(page.includes('&lt;b&gt;mock&lt;/b&gt; — token economics'))
  assert.equal((page.match(/<figure id="chart-[a-z]+"><h3>[^<]+<\/h3><svg /g) ?? []).length, 5)
  const md = await runCli(['report', id, '--format', 'md', ...store()], { cwd: dir })
  assert.equal(md.code, 0, md.stderr)
  assert.match(md.stdout, /^# &lt;b&gt;mock&lt;\/b&gt; — token economics\n/)
  assert.match(md.stdout, /\| Cost per M output tokens \| \$[\d.]+ .*\| facility \|/)
  const csv = await runCli(['report', id, '--format', 'csv', ...store()], { cwd: dir })
  assert.equal(csv.stdout.trimEnd().split('\r\n').length, 64 + 1 + (runs[1]!.requests.warmup ?? 0))
  const json = await runCli(['report', id, '--format', 'json', ...store()], { cwd: dir })
  assert.equal(JSON.parse(json.stdout).summary.id, id)
  const pq = await runCli(['report', id, '--format', 'parquet', '--out', join(dir, 'r.parquet'), ...store()], { cwd: dir })
  assert.equal(pq.code, 0, pq.stderr)
  assert.equal(readFileSync(join(dir, 'r.parquet')).subarray(0, 4).toString(), 'PAR1')
  const toStdout = await runCli(['report', id, '--format', 'parquet', '--out', '-', ...store()], { cwd: dir })
  assert.equal(toStdout.code, ExitCode.Usage)
})

test('report re-prices a stored run with the cost flags', async () => {
  const id = runs[0]!.id
  const r = await runCli(['report', id, '--format', 'json', '--usd-per-accelerator-hour', '3.6', ...store()], { cwd: dir })
  assert.equal(r.code, 0, r.stderr)
  const doc = JSON.parse(r.stdout)
  // a rental price flag switches the stored own-mode section to rent: $3.60 per accelerator-hour, energy included
  assert.equal(doc.cost.mode, 'rent')
  assert.deepEqual(doc.cost.usdPerHour, { rent: 3.6 })
  assert.equal(runs[0]!.cost?.usdPerHour.rent, undefined)
  const rent = await runCli(['report', id, '--format', 'json', '--usd-per-accelerator-hour', '3.6', '--utilization', '0.5', ...store()], { cwd: dir })
  assert.equal(JSON.parse(rent.stdout).cost.utilization, 0.5)
  const bad = await runCli(['report', id, '--utilization', '7', ...store()], { cwd: dir })
  assert.equal(bad.code, ExitCode.Usage)
  assert.match(bad.stderr, /^tokenwatt: cost: .*utilization/)
})

test('compare: table with a winner per metric, and an HTML page', async () => {
  const [a, b] = runs.map((r) => r.id) as [string, string]
  const t = await runCli(['compare', a, b, ...store()], { cwd: dir })
  assert.equal(t.code, 0, t.stderr)
  assert.match(t.stdout, /Output token throughput .*#2 by [\d.]+ % \(noise ±[\d.]+ %\): significant/)
  assert.match(t.stdout, new RegExp(`#1 ${a} · <b>mock</b>`))
  assert.match(t.stdout, /SLO for every run: TTFT ≤ 80 ms \(every run's own SLO\)/)
  const h = await runCli(['compare', a, b, '--format', 'html', '--out', join(dir, 'cmp.html'), ...store()], { cwd: dir })
  assert.equal(h.code, 0, h.stderr)
  const page = readFileSync(join(dir, 'cmp.html'), 'utf8')
  assert.ok(!page.includes('<b>mock</b>'))
  assert.ok((page.match(/<svg /g) ?? []).length >= 3)
  const one = await runCli(['compare', a, ...store()], { cwd: dir })
  assert.equal(one.code, ExitCode.Usage)
})

test('verify: exit 0 when the claim holds, 98 when it fails, 2 for a bad claim', async () => {
  const ids = runs.map((r) => r.id)
  const best = Math.max(...runs.map((r) => r.throughput.outputTokensPerS))
  const pass = await runCli(['verify', ...ids, '--claim', `output_token_throughput >= ${Math.floor(best / 2)} at time_to_first_token_p50 <= 1000`, ...store()], { cwd: dir })
  assert.equal(pass.code, ExitCode.Ok, pass.stdout + pass.stderr)
  assert.match(pass.stdout, /verdict: {2}PASS/)
  const fail = await runCli(['verify', ...ids, '--claim', `output_token_throughput >= ${best * 10}`, ...store()], { cwd: dir })
  assert.equal(fail.code, ExitCode.ClaimFailed)
  assert.match(fail.stdout, /verdict: {2}FAIL: the measured value misses the claim/)
  const json = await runCli(['verify', ids[0]!, '--claim', 'output_tokens_per_joule > 0', '--claim', 'cost_per_million_output_tokens < 1000000', '--json', ...store()], { cwd: dir })
  assert.equal(json.code, ExitCode.Ok, json.stdout)
  assert.deepEqual(
    JSON.parse(json.stdout).map((v: { passed: boolean }) => v.passed),
    [true, true],
  )
  const bad = await runCli(['verify', ids[0]!, '--claim', 'watts_per_banana >= 1', ...store()], { cwd: dir })
  assert.equal(bad.code, ExitCode.Usage)
  assert.match(bad.stderr, /unknown metric "watts_per_banana"/)
  const missing = await runCli(['verify', 'no-such-run', '--claim', 'output_token_throughput >= 1', ...store()], { cwd: dir })
  assert.equal(missing.code, ExitCode.NotFound)
})

test('plan: racks and tokens per day for a site, with what-ifs', async () => {
  const r = await runCli(['plan', '--site-mw', '10', '--from', runs[1]!.id, '--what-if-pue', '1.1,1.5', '--format', 'json', ...store()], { cwd: dir })
  assert.equal(r.code, 0, r.stderr)
  const p = JSON.parse(r.stdout)
  assert.equal(p.baseline.racks, Math.floor(10_000 / (32 * 1.37 * 1.3)))
  assert.equal(p.whatIf.length, 2)
  assert.ok(p.whatIf[0].accelerators > p.baseline.accelerators)
  assert.ok(p.baseline.revenueUsdPerDay > 0)
  const table = await runCli(['plan', '--site-mw', '10', '--from', runs[1]!.id, ...store()], { cwd: dir })
  assert.match(table.stdout, /^Site: 10 MW of facility power/)
  assert.ok(!existsSync(join(dir, 'plan.html')))
  const noPreset = await runCli(['plan', '--site-mw', '10', '--from', runs[1]!.id, '--pue', '0.5', ...store()], { cwd: dir })
  assert.equal(noPreset.code, ExitCode.Usage)
})
