// `tokenwatt sweep` over a session workload, ranked by joules per good task: each point is a session
// bench against the mock over real HTTP/SSE with the mock's power trace as meter; the objective is the
// point's boundary power ÷ tasks per second that met the task SLO, read from its stored run.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { RunSummary } from '../../src/core/summary.js'
import type { SweepResult } from '../../src/core/sweep/sweep-result.js'
import { SweepResultSchema } from '../../src/core/sweep/sweep-result-schema.js'
import { startMockServer, type MockServer } from '../../src/engines/mock/index.js'
import { runCli } from '../../testkit/cli.js'

let dir: string
let mock: MockServer

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tw-sweep-sessions-'))
  mock = await startMockServer({ port: 0, ttftMs: 10, itlMs: 2, prefixCache: { enabled: true, blockTokens: 16 } })
})
after(async () => {
  await mock.close()
})

const store = (): string[] => ['--store', join(dir, 'db.sqlite')]

test('a session sweep ranks concurrency by joules per good task and states the per-task saving', async () => {
  const r = await runCli(
    ['sweep', '--endpoint', mock.baseUrl, '--turns', '3', '--think-time-ms', '20', '--input-tokens', '40', '--output-tokens', '8', '--duration', '2', '--task-slo-ms', '60000',
      '--knob', 'concurrency=1,4', '--objective', 'joules-per-good-task', '--meter', 'mock', '--boundary', 'device', '--out', join(dir, 'out'), ...store(), '--json', '--no-progress'],
    { cwd: dir },
  )
  assert.equal(r.code, 0, r.stderr)
  const s = JSON.parse(r.stdout) as SweepResult
  assert.equal(SweepResultSchema.safeParse(s).success, true, JSON.stringify(SweepResultSchema.safeParse(s).error?.issues))
  assert.equal(s.unit, 'J/task')
  assert.equal(s.points.length, 2)
  for (const p of s.points) {
    const run = await runCli(['report', p.runIds[0] as string, '--format', 'json', ...store()], { cwd: dir })
    assert.equal(run.code, 0, run.stderr)
    const { summary } = JSON.parse(run.stdout) as { summary: RunSummary }
    assert.ok(summary.tasks && summary.power, 'each point is a session run with power')
    const expected = (summary.power.avgW as number) / (summary.tasks.slo.goodTasksPerS as number)
    assert.ok(Math.abs((p.objective.value as number) - expected) <= 1e-9 * expected, `${p.key}: ${p.objective.value} vs ${expected}`)
  }
  // The mock's power has a fixed idle share, so more tasks in flight share it: 4 beats 1 per task.
  assert.equal(s.chosen?.knobs.concurrency, 4, r.stderr)
  const html = readFileSync(join(dir, 'out', s.id, 'report.html'), 'utf8')
  assert.match(html, /J\/task/)
})

test('a per-task objective without sessions gets one line and a hint', async () => {
  const r = await runCli(['sweep', '--endpoint', mock.baseUrl, '--requests', '5', '--knob', 'concurrency=1,2', '--objective', 'joules-per-good-task', '--meter', 'mock', ...store()], { cwd: dir })
  assert.equal(r.code, 2, r.stderr)
  assert.match(r.stderr, /^tokenwatt: sweep: the objective joules-per-good-task needs a session workload\nhint: /)
})
