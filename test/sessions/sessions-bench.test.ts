// Sessions end to end: `tokenwatt bench` with workload.sessions against the mock engine over real
// HTTP/SSE, its prefix cache on. Ordering, think time and fan-out are checked against the mock's ground
// truth (what it received when), cached tokens exactly against its cache model.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { openStore } from '../../src/adapters/store/sqlite-store.js'
import { renderSummary } from '../../src/cli/render-summary.js'
import type { RunSummary } from '../../src/core/summary.js'
import { RunSummarySchema } from '../../src/core/summary-schema.js'
import { startMockServer, type GroundTruthRecord, type MockServer } from '../../src/engines/mock/index.js'
import { runCli } from '../../testkit/cli.js'

const BLOCK = 16
const THINK_MS = 40
const TTFT_MS = 15
const PREFILL_MS_PER_TOKEN = 0.05
let dir: string
let mock: MockServer

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tw-sessions-'))
  mock = await startMockServer({ port: 0, ttftMs: TTFT_MS, itlMs: 1, prefillMsPerToken: PREFILL_MS_PER_TOKEN, prefixCache: { enabled: true, blockTokens: BLOCK } })
})
after(async () => {
  await mock.close()
})

async function bench(name: string, yaml: string, extra: string[] = []): Promise<{ s: RunSummary; gt: GroundTruthRecord[] }> {
  const before = mock.groundTruth().length
  const cfg = join(dir, `${name}.yaml`)
  writeFileSync(cfg, yaml)
  const r = await runCli(['bench', '-c', cfg, '--endpoint', mock.baseUrl, '--json', '--no-progress', '--store', join(dir, 'runs.db'), '--out', join(dir, 'out'), ...extra], { cwd: dir })
  assert.equal(r.code, 0, r.stderr)
  const s = JSON.parse(r.stdout) as RunSummary
  assert.equal(RunSummarySchema.safeParse(s).success, true, JSON.stringify(RunSummarySchema.safeParse(s).error?.issues))
  // the session requests are those with the planned max_tokens (probes and calibration use others)
  return { s, gt: mock.groundTruth().slice(before) }
}

function records(runId: string) {
  const store = openStore(join(dir, 'runs.db'))
  try {
    return store.getRequests(runId)
  } finally {
    store.close()
  }
}

test('closed-loop sessions: turns in order, each sent think time after the previous ended; prompts grow and hit the prefix cache exactly', async () => {
  const { s, gt } = await bench(
    'closed',
    `load: { type: closed-loop, concurrency: 2 }
workload:
  input: 40
  output: 6
  sessions: { turns: 4, thinkTimeMs: ${THINK_MS}, count: 4 }
`,
  )
  const turns = gt.filter((g) => g.maxTokens === 6)
  assert.equal(turns.length, 16, '4 sessions × 4 turns reached the server')
  assert.ok(s.tasks, 'a tasks section')
  assert.equal(s.tasks.started, 4)
  assert.equal(s.tasks.completed, 4)
  assert.equal(s.tasks.turnsPerTask.min, 4)
  assert.equal(s.tasks.turnsPerTask.max, 4)

  // Group the server's requests into sessions by their correlation header (x-session-id is the same per session).
  const bySession = new Map<string, GroundTruthRecord[]>()
  for (const g of turns) {
    const id = g.headers?.['x-session-id'] ?? 'none'
    bySession.set(id, [...(bySession.get(id) ?? []), g])
  }
  assert.equal(bySession.size, 4)
  for (const [id, list] of bySession) {
    list.sort((a, b) => a.receivedAtWallMs - b.receivedAtWallMs)
    assert.deepEqual(list.map((g) => g.headers?.['x-correlation-id']), [0, 1, 2, 3].map((t) => `${id}-${t}-0`), 'turns arrive in order')
    for (let t = 1; t < list.length; t++) {
      const prev = list[t - 1]!
      const cur = list[t]!
      // the prompt is the whole conversation: it grows each turn, and the previous prompt is its prefix
      assert.ok(cur.promptTokens > prev.promptTokens)
      assert.equal(cur.cachedTokens, Math.floor(prev.promptTokens / BLOCK) * BLOCK, 'the previous prompt\'s full blocks are served from cache')
      // think time on the absolute clock: sent THINK_MS after the previous turn's last byte left the server
      const prevEnd = prev.chunks[prev.chunks.length - 1]!.atWallMs
      const gap = cur.receivedAtWallMs - prevEnd
      // (the upper bound is loose: a shared CI machine may be slow to turn a response into the next send)
      assert.ok(gap >= THINK_MS - 1 && gap < THINK_MS + 250, `think gap ${gap} ms`)
      // a cheaper prefill: first content − received = ttft + per-token prefill of the uncached tokens only
      const first = cur.chunks.find((c) => c.kind === 'content')!
      assert.ok(first.atWallMs - cur.receivedAtWallMs >= TTFT_MS + PREFILL_MS_PER_TOKEN * (cur.promptTokens - (cur.cachedTokens ?? 0)) - 1)
    }
    assert.equal(list[0]!.cachedTokens, 0, 'no shared system prompt: first turns miss')
  }

  // the client read cached tokens from usage.prompt_tokens_details: per request equal to the server's truth
  const recs = records(s.id).filter((r) => r.phase === 'measure')
  assert.equal(recs.length, 16)
  const gtCached = turns.map((g) => g.cachedTokens ?? -1).sort((a, b) => a - b)
  const recCached = recs.map((r) => r.cachedInputTokens ?? -1).sort((a, b) => a - b)
  assert.deepEqual(recCached, gtCached)
  for (const r of recs) assert.equal(typeof r.turn, 'number')
  const cachedSum = turns.reduce((a, g) => a + (g.cachedTokens ?? 0), 0)
  const promptSum = turns.reduce((a, g) => a + g.promptTokens, 0)
  // the run's share is over tasks in the window; over all four tasks it is this
  assert.ok(s.tasks.prefixHitShare !== null && s.tasks.prefixHitShare > 0)
  if (s.tasks.inWindow === 4) assert.ok(Math.abs(s.tasks.prefixHitShare - cachedSum / promptSum) < 1e-12)
  const t0 = s.tasks.byTurn.find((t) => t.turn === 0)
  const t3 = s.tasks.byTurn.find((t) => t.turn === 3)
  if (t0 && t3) {
    assert.equal(t0.prefixHitShare, 0)
    assert.ok((t3.inputTokensMean ?? 0) > (t0.inputTokensMean ?? 0), 'context grows with the turn index')
  }
  // task latency covers 4 turns and 3 think times
  assert.ok((s.tasks.latencyMs.min ?? 0) >= 3 * THINK_MS + 4 * TTFT_MS)

  // verify reads task metrics from the registry like any other
  const v = await runCli(['verify', s.id, '--store', join(dir, 'runs.db'), '--claim', 'prefix_hit_share >= 0.1', '--claim', 'task_latency_p50 <= 100000', '--json'], { cwd: dir })
  assert.equal(v.code, 0, v.stderr)
  assert.doesNotMatch(v.stdout, /"verdict": "fail"/i)
})

test('shared system prompt and fan-out: children go out together after the turn, their answers feed the next turn', async () => {
  const { s, gt } = await bench(
    'fanout',
    `load: { type: poisson, rate: 20 }
workload:
  input: 24
  output: 5
  seed: 7
  sessions:
    turns: 3
    thinkTimeMs: 10
    systemPromptTokens: 64
    count: 3
    fanOut: { every: 1, children: 3, input: 12, output: 4 }
    affinityHeader: x-user-id
`,
  )
  assert.equal(s.tasks?.completed, 3)
  const reqs = gt.filter((g) => g.headers?.['x-user-id'] !== undefined)
  // per session: 3 turns, turns 0 and 1 fan out to 3 children each (the last turn never does)
  assert.equal(reqs.length, 3 * (3 + 2 * 3))
  const sessions = new Map<string, GroundTruthRecord[]>()
  for (const g of reqs) sessions.set(g.headers!['x-user-id']!, [...(sessions.get(g.headers!['x-user-id']!) ?? []), g])
  let firstTurnsCached = 0
  for (const [id, list] of sessions) {
    const at = (turn: number, branch: number) => list.find((g) => g.headers?.['x-correlation-id'] === `${id}-${turn}-${branch}`)!
    for (const turn of [0, 1]) {
      const main = at(turn, 0)
      const mainEnd = main.chunks[main.chunks.length - 1]!.atWallMs
      const kids = [1, 2, 3].map((b) => at(turn, b))
      for (const k of kids) {
        assert.equal(k.maxTokens, 4)
        assert.ok(k.receivedAtWallMs - mainEnd >= 9, 'children wait the think time after the turn')
        // a child's prompt extends the conversation up to and including the turn's answer
        assert.ok(k.promptTokens > main.promptTokens)
        assert.ok((k.cachedTokens ?? 0) >= Math.floor(main.promptTokens / BLOCK) * BLOCK)
      }
      const starts = kids.map((k) => k.receivedAtWallMs)
      assert.ok(Math.max(...starts) - Math.min(...starts) < 30, 'children are sent together')
      const next = at(turn + 1, 0)
      const kidsEnd = Math.max(...kids.map((k) => k.chunks[k.chunks.length - 1]!.atWallMs))
      assert.ok(next.receivedAtWallMs - kidsEnd >= 9, 'the next turn waits for every child plus think time')
      // the children's answers are part of the next turn's prompt: it is longer than turn + answer + new input
      assert.ok(next.promptTokens >= main.promptTokens + 5 + 24 + 3 * 4 - 8)
    }
    firstTurnsCached += at(0, 0).cachedTokens ?? 0
  }
  // the shared system prompt (64 tokens + 4 template) is cached for every session but the first to arrive
  assert.equal(firstTurnsCached, 2 * Math.floor((64 + 4) / BLOCK) * BLOCK)
  assert.equal(s.load.type, 'poisson')
})

test('cache_prompt: false (llama.cpp) turns the cache off for those requests', async () => {
  const { s, gt } = await bench(
    'nocache',
    `load: { type: closed-loop, concurrency: 1 }
target: { extraBody: { cache_prompt: false } }
workload:
  input: 30
  output: 4
  sessions: { turns: 3, count: 1 }
`,
  )
  const turns = gt.filter((g) => g.maxTokens === 4 && g.headers?.['x-session-id'] !== undefined)
  assert.equal(turns.length, 3)
  for (const g of turns) assert.equal(g.cachedTokens, 0)
  // the client read the server's zero for every turn; the run's share over the window's tasks is 0
  // (null only when a loaded machine left the one task's end outside the steady window)
  const turnRecords = records(s.id).filter((r) => r.sessionId !== undefined)
  assert.deepEqual(turnRecords.map((r) => r.cachedInputTokens), [0, 0, 0])
  assert.ok(s.tasks?.prefixHitShare === 0 || (s.tasks?.prefixHitShare === null && s.tasks.inWindow === 0), JSON.stringify(s.tasks))
})

test('flags only, with a meter and a cost model: J/task and $/task follow the window figures exactly; task SLO counts good tasks', async () => {
  const before = mock.groundTruth().length
  const r = await runCli(
    ['bench', '--endpoint', mock.baseUrl, '--sessions', '--turns', '3', '--session-count', '6', '--concurrency', '2', '--think-time-ms', '5', '--input-tokens', '20', '--output-tokens', '8',
      '--meter', 'mock', '--boundary', 'device', '--usd-per-accelerator-hour', '2', '--accelerators', '1', '--slo-ttft-ms', '5000', '--task-slo-ms', '60000',
      '--json', '--no-progress', '--store', join(dir, 'runs.db'), '--out', join(dir, 'out')],
    { cwd: dir },
  )
  assert.equal(r.code, 0, r.stderr)
  const s = JSON.parse(r.stdout) as RunSummary
  const t = s.tasks!
  assert.equal(mock.groundTruth().slice(before).filter((g) => g.headers?.['x-session-id'] !== undefined).length, 18)
  assert.equal(t.completed, 6)
  assert.ok(t.inWindow > 0, JSON.stringify(s.window))
  assert.equal(t.boundary, 'device')
  assert.ok(s.power?.energyJ != null && s.power.avgW != null)
  assert.equal(t.joulesPerTask, s.power.energyJ / t.inWindow)
  const cost = s.cost as unknown as { usdPerHourTotal: number; utilization: number }
  assert.ok(Math.abs(t.usdPerTask! - cost.usdPerHourTotal / (t.tasksPerS! * 3600 * cost.utilization)) < 1e-15)
  assert.equal(t.slo.attainment, 1, 'generous bounds: every task is good')
  assert.equal(t.slo.goodTasksPerS, t.tasksPerS)
  assert.ok(Math.abs(t.slo.goodTasksPerSPerMW! - t.slo.goodTasksPerS! / (s.power.avgW / 1e6)) < 1e-9)

  // the task view: terminal rows and the HTML report's cards, tables and task-latency curve
  const text = renderSummary(s, 120)
  assert.match(text, new RegExp(`energy/task @ device +│ ${t.joulesPerTask.toFixed(2).replace('.', '\\.')} J/task`))
  assert.match(text, /TTFT p50 by turn +│ 0: [\d.]+ ms \(\d+% cached\), 1: /)
  const html = readFileSync(join(dir, 'out', s.id, 'report.html'), 'utf8')
  for (const needle of ['<h2>Tasks</h2>', 'Tasks (sessions)', 'TTFT by turn index', 'Energy per task', 'Cost per task', 'Prefix-cache hit share', 'Task latency']) assert.ok(html.includes(needle), needle)
})

test('an impossible task bound makes every task bad', async () => {
  const r = await runCli(
    ['bench', '--endpoint', mock.baseUrl, '--turns', '2', '--session-count', '2', '--concurrency', '1', '--think-time-ms', '20', '--task-slo-ms', '1',
      '--json', '--no-progress', '--store', join(dir, 'runs.db'), '--out', join(dir, 'out')],
    { cwd: dir },
  )
  assert.equal(r.code, 0, r.stderr)
  const t = (JSON.parse(r.stdout) as RunSummary).tasks!
  assert.equal(t.completed, 2)
  assert.equal(t.slo.attainment, 0)
  assert.equal(t.slo.goodTasksPerS, 0)
})
