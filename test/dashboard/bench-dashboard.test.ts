import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { startMockServer } from '../../src/engines/mock/index.js'
import { runCli } from '../../testkit/cli.js'

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

test('bench --dashboard serves the running run on loopback and stops with the run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-bench-dash-'))
  const mock = await startMockServer({ port: 0, ttftMs: 20, itlMs: 5 })
  const port = await freePort()
  try {
    const bench = runCli(['bench', '--endpoint', mock.baseUrl, '--concurrency', '2', '--duration', '3s', '--output-tokens', '8', '--dashboard', `127.0.0.1:${port}`, '--store', join(dir, 'runs.db'), '--out', join(dir, 'out'), '--no-progress', '--json'], { cwd: dir })
    let running: { id: string; status: string } | undefined
    for (let i = 0; i < 100 && !running; i++) {
      await new Promise((r) => setTimeout(r, 50))
      const res = await fetch(`http://127.0.0.1:${port}/api/runs`).catch(() => null)
      running = res ? ((await res.json()) as { runs: { id: string; status: string }[] }).runs.find((r) => r.status === 'running') : undefined
    }
    assert.ok(running, 'the dashboard listed the run while it ran')
    const r = await bench
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, new RegExp(`dashboard: http://127\\.0\\.0\\.1:${port}/`))
    assert.equal(await fetch(`http://127.0.0.1:${port}/api/runs`).then(() => 'up', () => 'closed'), 'closed')
  } finally {
    await mock.close()
  }
})

test('sweep --dashboard lists the sweep\'s points as they are measured, and stops with the sweep', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-sweep-dash-'))
  const mock = await startMockServer({ port: 0, ttftMs: 20, itlMs: 5 })
  const port = await freePort()
  try {
    const sweep = runCli(['sweep', '--endpoint', mock.baseUrl, '--knob', 'concurrency=1,2,3', '--duration', '1.5', '--output-tokens', '8', '--meter', 'mock', '--dashboard', `127.0.0.1:${port}`, '--store', join(dir, 'runs.db'), '--out', join(dir, 'out'), '--no-progress', '--json'], { cwd: dir })
    // while the sweep runs, the dashboard shows its finished points growing
    const seen = new Set<number>()
    for (let i = 0; i < 200; i++) {
      await new Promise((r) => setTimeout(r, 50))
      const res = await fetch(`http://127.0.0.1:${port}/api/runs`).catch(() => null)
      if (!res) {
        if (seen.size > 0) break
        continue
      }
      const runs = ((await res.json()) as { runs: { status: string; labels: Record<string, string> }[] }).runs
      seen.add(runs.filter((r) => r.labels.sweep !== undefined && r.status === 'complete').length)
    }
    const r = await sweep
    assert.equal(r.code, 0, r.stderr)
    assert.ok([...seen].some((n) => n > 0 && n < 3), `points seen growing: ${[...seen].join(',')}`)
    assert.equal(await fetch(`http://127.0.0.1:${port}/api/runs`).then(() => 'up', () => 'closed'), 'closed')
  } finally {
    await mock.close()
  }
})

test('monitor --dashboard serves the running monitor session, with tokens from the servers\' counters', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-monitor-dash-'))
  const mock = await startMockServer({ port: 0, ttftMs: 5, itlMs: 2 })
  const port = await freePort()
  try {
    const monitor = runCli(['monitor', '--server-metrics', `${mock.url}/metrics`, '--preset', 'vllm', '--meter', `mock:${mock.url}`, '--interval', '0.3s', '--duration', '3s', '--dashboard', `127.0.0.1:${port}`, '--out', dir, '--store', join(dir, 'runs.db'), '--json'], { cwd: dir })
    // traffic from elsewhere while the monitor watches
    const load = runCli(['bench', '--endpoint', mock.baseUrl, '--concurrency', '2', '--duration', '2.5', '--output-tokens', '8', '--store', join(dir, 'load.db'), '--out', join(dir, 'load'), '--no-progress', '--json'], { cwd: dir })
    let live: { source?: string; outputTokens: number } | null = null
    for (let i = 0; i < 60 && !(live && live.outputTokens > 0); i++) {
      await new Promise((r) => setTimeout(r, 100))
      const runs = await fetch(`http://127.0.0.1:${port}/api/runs?kind=monitor`).then(async (r) => ((await r.json()) as { runs: { id: string }[] }).runs, () => [])
      const id = runs[0]?.id
      if (id) live = await fetch(`http://127.0.0.1:${port}/api/runs/${id}/live`).then(async (r) => (await r.json()) as { source?: string; outputTokens: number }, () => null)
    }
    assert.equal(live?.source, 'server-counters')
    assert.ok((live?.outputTokens ?? 0) > 0, JSON.stringify(live))
    const [m] = await Promise.all([monitor, load])
    assert.equal(m.code, 0, m.stderr)
  } finally {
    await mock.close()
  }
})
