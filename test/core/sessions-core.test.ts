import assert from 'node:assert/strict'
import { test } from 'node:test'
import { analyzeTasks } from '../../src/core/analysis/analyze-tasks.js'
import { findSessionSteadyWindow } from '../../src/core/analysis/session-window.js'
import { SessionsSchema } from '../../src/core/config/sessions-schema.js'
import { SessionWorkload } from '../../src/core/load/sessions.js'
import type { RunSummary } from '../../src/core/summary.js'
import { record } from '../../testkit/records.js'

const cal = { overheadTokens: 0, tokensPerWord: 1, source: 'estimate' as const }
const workload = (cfg: unknown, chat = true): SessionWorkload =>
  new SessionWorkload(SessionsSchema.parse(cfg), 9, { input: { type: 'fixed', value: 10 }, output: { type: 'fixed', value: 5 } }, cal, chat)

test('session plans are seeded per session: the same id gives the same plan whatever else was drawn', () => {
  const w = workload({ turns: { type: 'uniform', low: 2, high: 6 }, thinkTimeMs: { type: 'exponential', meanMs: 100 }, fanOut: { every: 2, children: 3 } })
  const a = w.plan(7)
  w.plan(1)
  w.plan(2)
  assert.deepEqual(w.plan(7), a)
  assert.notDeepEqual(w.plan(8), a)
  for (const id of [0, 1, 2, 3, 4, 5]) {
    const p = w.plan(id)
    assert.ok(p.turns.length >= 2 && p.turns.length <= 6)
    p.turns.forEach((t, i) => {
      // every 2nd turn fans out to 3 children, never the last turn (nothing would read their answers)
      assert.equal(t.fanOut !== null, (i + 1) % 2 === 0 && i < p.turns.length - 1)
      if (t.fanOut) assert.equal(t.fanOut.children.length, 3)
      assert.ok(t.thinkAfterNs >= 0)
    })
  }
})

test('the conversation grows: each turn carries every earlier message; children see it without changing it', () => {
  const w = workload({ turns: 3, systemPromptTokens: 4, fanOut: { every: 1, children: 2, input: 3 } })
  const plan = w.plan(0)
  const c = w.conversation(0)
  const slot = (turn: number, branch = 0) => ({ seq: turn * 10 + branch, sessionId: 0, turn, branch, scheduledAtNs: 0 })
  const r0 = c.turnRequest(slot(0), plan.turns[0]!)
  assert.deepEqual(r0.messages?.map((m) => m.role), ['system', 'user'])
  assert.equal(r0.messages?.[0]?.content.split(' ').length, 4)
  assert.equal(r0.headers?.['x-session-id'], 'tw-session-0')
  assert.equal(r0.headers?.['x-correlation-id'], 'tw-session-0-0-0')
  c.addAnswer('the answer', 2)
  const kid = c.childRequest(slot(0, 1), plan.turns[0]!.fanOut!.children[0]!)
  assert.deepEqual(kid.messages?.map((m) => m.role), ['system', 'user', 'assistant', 'user'])
  assert.equal(c.messageCount, 3, 'a child leaves the conversation as it was')
  c.addToolResults(['child one', 'child two'], 4)
  const r1 = c.turnRequest(slot(1), plan.turns[1]!)
  assert.deepEqual(r1.messages?.slice(0, 3), r0.messages?.concat([{ role: 'assistant', content: 'the answer' }]), 'the previous prompt is the prefix')
  assert.match(r1.messages?.[3]?.content ?? '', /^child one\nchild two\n/)
  // the same session on the completions API: one text whose start is the previous prompt's text
  const t = workload({ turns: 2 }, false)
  const tc = t.conversation(0)
  const p0 = tc.turnRequest(slot(0), t.plan(0).turns[0]!)
  tc.addAnswer('reply', 1)
  const p1 = tc.turnRequest(slot(1), t.plan(0).turns[1]!)
  assert.ok(p1.text?.startsWith(`${p0.text}\nreply\n`))
})

test('tasks: complete, failed and cut-short sessions; figures over the tasks that ended in the window', () => {
  const s = (sessionId: number, turn: number, sentMs: number, endMs: number, extra: object = {}) =>
    record({ seq: sessionId * 10 + turn, sentMs, chunksMs: [sentMs + 10 * (turn + 1), endMs], inputTokens: 100 * (turn + 1), sessionId, turn, branch: 0, ...extra })
  const records = [
    s(0, 0, 0, 50, { cachedInputTokens: 0 }),
    s(0, 1, 60, 120, { cachedInputTokens: 96 }),
    s(1, 0, 10, 40, { cachedInputTokens: 0 }),
    s(1, 1, 50, 200, { cachedInputTokens: 64 }),
    s(2, 0, 20, 30, { error: { kind: 'http_status', status: 500, message: 'x' } }),
    s(3, 0, 100, 130), // its second turn was never sent
  ]
  const plan = (id: number) => ({ sessionId: id, turns: [0, 1].map(() => ({ inputTokens: 1, outputTokens: 1, thinkAfterNs: 0, fanOut: null })) })
  const summary = { power: { boundary: 'node', avgW: 500, energyJ: 1000 }, cost: { usdPerHourTotal: 3.6, utilization: 0.5 } } as unknown as Pick<RunSummary, 'power' | 'cost'>
  const t = analyzeTasks({ records, window: { startNs: 0, endNs: 150e6, durationS: 0.15 }, plan, slo: { ttftMs: 15 }, taskLatencyMs: null, summary })
  assert.equal(t.started, 4)
  assert.equal(t.completed, 2)
  assert.equal(t.failed, 1)
  assert.equal(t.incomplete, 1)
  assert.equal(t.inWindow, 1, 'session 1 ended at 200 ms, after the window')
  assert.equal(t.latencyMs.p50, 120)
  assert.equal(t.joulesPerTask, 1000)
  assert.ok(Math.abs(t.tasksPerS! - 1 / 0.15) < 1e-9)
  assert.ok(Math.abs(t.usdPerTask! - 3.6 / ((1 / 0.15) * 3600 * 0.5)) < 1e-15)
  // turn 1's TTFT is 20 ms > 15: the task is not good
  assert.equal(t.slo.attainment, 0)
  assert.equal(t.prefixHitShare, 96 / 300)
  assert.deepEqual(t.byTurn.map((b) => [b.turn, b.ttftMs.p50, b.prefixHitShare]), [[0, 10, 0], [1, 20, 96 / 200]])
  assert.equal(t.inputTokensPerTask.p50, 300)
})

test('steady window in session terms: from when N sessions are in flight to the last session start', () => {
  const recs = [0, 1, 2, 3].flatMap((id) => [0, 1, 2].map((turn) => record({ seq: id * 3 + turn, sentMs: id * 100 + turn * 40, chunksMs: [id * 100 + turn * 40 + 5, id * 100 + turn * 40 + 30], sessionId: id, turn, branch: 0 })))
  const w = findSessionSteadyWindow(recs, 2)
  // session 1 starts at 100 ms while session 0 (0–110 ms) is still in flight: 2 in flight from 100 ms
  assert.ok(w.startNs >= 100e6 && w.endNs === 300e6, JSON.stringify(w))
  assert.equal(w.method, 'sessions-inflight-plateau+mser5')
})
