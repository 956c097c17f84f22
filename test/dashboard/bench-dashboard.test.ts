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
