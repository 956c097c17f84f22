// `compare` of session runs at one task SLO: each run's tasks are re-judged from its stored records
// at the common bound, as the run analysis judged them, so a run benchmarked with a looser task bound
// is not credited for tasks another run's bound would have failed.
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { openStore } from '../../src/adapters/store/sqlite-store.js'
import type { RunComparison } from '../../src/core/compare/compare-runs.js'
import type { RequestRecord } from '../../src/core/records.js'
import type { RunSummary } from '../../src/core/summary.js'
import { startMockServer, type MockServer } from '../../src/engines/mock/index.js'
import { runCli } from '../../testkit/cli.js'

let dir: string
let mock: MockServer

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tw-task-compare-'))
  mock = await startMockServer({ port: 0, ttftMs: 10, itlMs: 2, prefixCache: { enabled: true, blockTokens: 16 } })
})
after(async () => {
  await mock.close()
})

const yaml = `load: { type: closed-loop, concurrency: 3 }
workload:
  input: 40
  output: 8
  sessions: { turns: 3, thinkTimeMs: { type: uniform, lowMs: 5, highMs: 60 }, count: 12 }
`

async function bench(name: string, taskSloMs: number): Promise<RunSummary> {
  const cfg = join(dir, `${name}.yaml`)
  writeFileSync(cfg, yaml)
  const r = await runCli(['bench', '-c', cfg, '--endpoint', mock.baseUrl, '--task-slo-ms', String(taskSloMs), '--json', '--no-progress', '--store', join(dir, 'runs.db'), '--out', join(dir, 'out')], { cwd: dir })
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout) as RunSummary
}

async function compare(a: string, b: string, extra: string[] = []): Promise<RunComparison> {
  const r = await runCli(['compare', a, b, '--format', 'json', '--store', join(dir, 'runs.db'), ...extra], { cwd: dir })
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout) as RunComparison
}

function taskLatenciesMs(s: RunSummary): number[] {
  const store = openStore(join(dir, 'runs.db'))
  let rs: RequestRecord[]
  try {
    rs = store.getRequests(s.id)
  } finally {
    store.close()
  }
  const ids = s.tasks?.sessionsInWindow ?? []
  return ids.map((id) => {
    const mine = rs.filter((r) => r.phase === 'measure' && r.sessionId === id)
    return (Math.max(...mine.map((r) => r.lastByteAtNs ?? r.sentAtNs)) - Math.min(...mine.map((r) => r.sentAtNs))) / 1e6
  })
}

const attainment = (c: RunComparison, run: number): number | null => c.rows.find((r) => r.metric.id === 'task_slo_attainment')?.readings[run]?.value ?? null

test('session runs are compared at the strictest task bound, re-judged from their records', async () => {
  const loose = await bench('loose', 100_000)
  const strict = await bench('strict', 1)
  assert.ok(loose.tasks && strict.tasks)
  assert.equal(loose.tasks.slo.attainment, 1, 'every task meets a 100 s bound')
  assert.equal(strict.tasks.slo.attainment, 0, 'no task of three turns ends within 1 ms')
  assert.equal(loose.tasks.sessionsInWindow?.length, loose.tasks.inWindow)

  // No bound given: the strictest (1 ms) judges both, so the loose run is not credited.
  const c = await compare(loose.id, strict.id)
  assert.equal(c.taskSlo?.taskLatencyMs, 1)
  assert.match(c.taskSlo?.source ?? '', /strictest/)
  assert.equal(attainment(c, 0), 0)
  assert.equal(attainment(c, 1), 0)
  for (const id of ['task_throughput', 'task_latency_p50', 'good_task_throughput']) assert.ok(c.rows.some((r) => r.metric.id === id), `row ${id}`)

  // A bound between the loose run's tasks: the share at or under it, counted by hand from the records.
  const lat = taskLatenciesMs(loose).sort((x, y) => x - y)
  assert.equal(lat.length, loose.tasks.inWindow)
  const bound = lat[Math.floor(lat.length / 2)] as number
  const c2 = await compare(loose.id, strict.id, ['--slo-task-ms', String(bound)])
  assert.equal(c2.taskSlo?.source, 'given on the command line')
  const share = lat.filter((x) => x <= bound).length / lat.length
  assert.ok(share > 0 && share < 1 || lat.length < 2, `a bound that splits the tasks (${share})`)
  assert.ok(Math.abs((attainment(c2, 0) as number) - share) < 1e-12, `${attainment(c2, 0)} vs ${share}`)
  const good = c2.rows.find((r) => r.metric.id === 'good_task_throughput')?.readings[0]?.value
  assert.ok(Math.abs((good as number) - (share * lat.length) / loose.window.durationS) < 1e-9)

  // At a run's own bound the re-judged figure is the run's own.
  const c3 = await compare(loose.id, strict.id, ['--slo-task-ms', '100000'])
  assert.equal(attainment(c3, 0), loose.tasks.slo.attainment)

  const table = await runCli(['compare', loose.id, strict.id, '--store', join(dir, 'runs.db')], { cwd: dir })
  assert.match(table.stdout, /Tasks judged at one task SLO: the task ends within 1 ms \(the strictest task bound/)
})
