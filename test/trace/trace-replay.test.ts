// Trace replay end to end: `tokenwatt bench --trace` against the mock over real HTTP/SSE. Arrival times
// at the server match the trace's within 1 ms at 1× and at 10×; shared hash ids reach the server's
// prefix cache as shared prefixes; a Weka session trace keeps its order and think times.
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { RunSummary } from '../../src/core/summary.js'
import type { GroundTruthRecord } from '../../src/engines/mock/index.js'
import { openStore } from '../../src/adapters/store/sqlite-store.js'
import { runCli } from '../../testkit/cli.js'
import { startMockProcess, type MockProcess } from '../../testkit/mock-process.js'

let dir: string
let mock: MockProcess
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tw-replay-'))
  // its own process: the server's arrival stamps are not held up by the client's event loop
  mock = await startMockProcess({ ttftMs: 5, itlMs: 1, prefixCache: { enabled: true, blockTokens: 16 } }, join(dir, 'truth.jsonl'))
})
after(async () => {
  await mock.stop()
})

async function replay(file: string, format: string, extra: string[]): Promise<{ s: RunSummary; gt: GroundTruthRecord[]; lagMsBySeq: Map<number, number> }> {
  const before = mock.groundTruth().length
  const r = await runCli(['bench', '--endpoint', mock.baseUrl, '--trace', file, '--trace-format', format, '--warmup', '4', ...extra, '--json', '--no-progress', '--store', join(dir, 'runs.db'), '--out', join(dir, 'out')], { cwd: dir })
  assert.equal(r.code, 0, r.stderr)
  const s = JSON.parse(r.stdout) as RunSummary
  const store = openStore(join(dir, 'runs.db'))
  const lagMsBySeq = new Map(store.getRequests(s.id).filter((q) => q.scheduledAtNs !== null).map((q) => [q.seq, (q.sentAtNs - (q.scheduledAtNs as number)) / 1e6]))
  store.close()
  // the replayed requests are those after calibration whose max_tokens the trace set (7)
  return { s, gt: mock.groundTruth().slice(before).filter((g) => g.maxTokens === 7), lagMsBySeq }
}

// irregular gaps, one burst of two at the same instant, one long idle gap
const OFFSETS_MS = [0, 37, 80, 80, 151, 260, 262, 400, 555, 700, 1300, 1310]

function mooncake(scale: number): string {
  const lines = OFFSETS_MS.map((t, i) => JSON.stringify({ timestamp: 1000 + t * scale, input_length: 40, output_length: 7, hash_ids: [100 + (i % 3), 200 + i, 300 + i] }))
  const p = join(dir, `mooncake-${scale}.jsonl`)
  writeFileSync(p, `${lines.join('\n')}\n`)
  return p
}

/**
 * Server arrival − (replay start + trace time ÷ scale + the lag the client itself recorded for that
 * request, sent − scheduled), per request in trace order. The replay start is the one unknown (the
 * median offset). So the check is: the server saw each request when the trace said, within 1 ms, once
 * the client's own reported schedule lag (summary load.scheduleLagMs, never hidden) is allowed for.
 */
function arrivalErrorsMs(gt: GroundTruthRecord[], expectedMs: readonly number[], lagMsBySeq: Map<number, number>): number[] {
  const seqOf = (g: GroundTruthRecord): number => Number(g.headers?.['x-correlation-id']?.replace('tw-request-', ''))
  const got = [...gt].sort((a, b) => seqOf(a) - seqOf(b))
  assert.equal(got.length, expectedMs.length)
  const adj = got.map((g, i) => g.receivedAtWallMs - (lagMsBySeq.get(seqOf(g)) ?? NaN) - (expectedMs[i] as number))
  const start = [...adj].sort((a, b) => a - b)[Math.floor(adj.length / 2)] as number
  return adj.map((a) => a - start)
}

/**
 * Typical arrivals within 1 ms of the trace (median; measured alone on the shared 2-core machine: median
 * 0.2 ms, worst 1.8 ms), none beyond 10 ms. Not every arrival within 1 ms: with other test files beside
 * it a loopback request now and then waits for a core (client or server process), which no schedule can
 * prevent; so a replay that met such a hiccup is run again, up to three replays in all, and one must
 * pass. (In a CI run with another test file on the other core, two replays in a row met one: median
 * |error| 1.2 ms, the client's own lag median well under 1 ms.) Every failed replay's errors are quoted.
 * TW_PRINT_ARRIVALS=1 prints the errors.
 */
function arrivalProblem(err: readonly number[], lagMsBySeq: Map<number, number>): string | null {
  const text = `arrival errors ms ${err.map((e) => e.toFixed(3)).join(' ')}`
  if (process.env.TW_PRINT_ARRIVALS) console.log(text, 'lags', [...lagMsBySeq.values()].map((l) => l.toFixed(3)).join(' '))
  const abs = err.map(Math.abs).sort((a, b) => a - b)
  const lags = [...lagMsBySeq.values()].sort((a, b) => a - b)
  // handed over its send lead early, a request is written on its instant: typically microseconds late
  // (before the lead, one undici loop turn made the median 0.5 ms)
  if ((lags[Math.floor(lags.length / 2)] as number) >= 0.25) return `median schedule lag ${lags[Math.floor(lags.length / 2)]} ms`
  if ((abs[Math.floor(abs.length / 2)] as number) >= 1 || (abs[abs.length - 1] as number) >= 10) return text
  return null
}

async function replayOnSchedule(file: string, extra: string[], expectedMs: readonly number[]): Promise<RunSummary> {
  const problems: string[] = []
  for (let attempt = 0; attempt < 3; attempt++) {
    const { s, gt, lagMsBySeq } = await replay(file, 'mooncake', extra)
    const problem = arrivalProblem(arrivalErrorsMs(gt, expectedMs, lagMsBySeq), lagMsBySeq)
    if (problem === null) return s
    problems.push(problem)
  }
  assert.fail(problems.join('; '))
}

test('arrival times match the trace at 1× (within 1 ms, bar scheduling hiccups of the machine)', async () => {
  const s = await replayOnSchedule(mooncake(1), [], OFFSETS_MS)
  assert.equal(s.requests.total, OFFSETS_MS.length)
  assert.equal((s.workload as { kind: string }).kind, 'trace')
})

test('arrival times match the trace at 10× (a trace recorded ten times slower)', async () => {
  await replayOnSchedule(mooncake(10), ['--time-scale', '10'], OFFSETS_MS)
})

test('a burst at the start of the trace is sent on time: ten 8k-token prompts due at once, then thirty more', async () => {
  // Each row's prompt is 16 fresh blocks of 512 tokens (~1 ms to build). The first ten are built
  // before the schedule starts; while the next thirty are built ahead, the client's writes of the
  // first ten still get their loop turns. (A yield of one microsecond's sleep was often no turn at all:
  // the first burst was then sent 45 ms late here, behind the building; now 2-7 ms at worst, the last
  // of thirty big bodies written one after another.) As above, a replay that met a machine hiccup is
  // run again, up to three in all.
  const p = join(dir, 'burst.jsonl')
  const rows = [...Array.from({ length: 10 }, () => 0), ...Array.from({ length: 30 }, () => 400)].map((t, i) =>
    JSON.stringify({ timestamp: t, input_length: 8192, output_length: 7, hash_ids: Array.from({ length: 16 }, (_, j) => 10_000 + i * 16 + j) }),
  )
  writeFileSync(p, `${rows.join('\n')}\n`)
  const problems: string[] = []
  for (let attempt = 0; attempt < 3; attempt++) {
    const { s, gt, lagMsBySeq } = await replay(p, 'mooncake', [])
    assert.equal(gt.length, 40)
    assert.equal(s.requests.failed, 0)
    const worstMs = Math.max(...lagMsBySeq.values())
    if (worstMs < 10) return
    problems.push(`worst schedule lag ${worstMs.toFixed(2)} ms (lags ${[...lagMsBySeq.values()].map((l) => l.toFixed(2)).join(' ')})`)
  }
  assert.fail(problems.join('; '))
})

test('idle-gap cap, start offset and duration slice', async () => {
  // trace seconds: skip the first 50 ms, cap gaps at 0.1 s, stop after 1.2 s of trace time
  const kept = OFFSETS_MS.filter((t) => t >= 50 && t <= 1250)
  const expected: number[] = []
  let prev = 50
  let v = 0
  for (const t of kept) {
    v += Math.min(100, t - prev)
    prev = t
    expected.push(v)
  }
  await replayOnSchedule(mooncake(1), ['--trace-start-s', '0.05', '--max-idle-gap-s', '0.1', '--trace-duration-s', '1.2'], expected)
})

test('shared hash ids are shared prefixes at the server: its prefix cache hits them', async () => {
  const p = join(dir, 'shared.jsonl')
  // three rows with the same two leading blocks of 64 tokens, then their own third block
  const rows = [0, 50, 100].map((t, i) => JSON.stringify({ timestamp: t, input_length: 192, output_length: 7, hash_ids: [1, 2, 10 + i] }))
  writeFileSync(p, `${rows.join('\n')}\n`)
  const { s, gt } = await replay(p, 'mooncake', ['--trace-block-tokens', '64'])
  gt.sort((a, b) => a.receivedAtWallMs - b.receivedAtWallMs)
  assert.equal(gt[0]!.cachedTokens, 0)
  // two 64-token blocks of words are about 128 tokens (the mock counts 4 bytes a token): most of them hit
  for (const g of gt.slice(1)) assert.ok((g.cachedTokens ?? 0) >= 0.5 * 128 && (g.cachedTokens ?? 0) < g.promptTokens, `cached ${g.cachedTokens} of ${g.promptTokens}`)
  assert.equal(s.requests.failed, 0)
})

test('a Weka session trace replays as a session: order kept, each request think_time after the previous ended', async () => {
  const trace = {
    id: 'trace_w1',
    models: ['m'],
    block_size: 64,
    hash_id_scope: 'local',
    requests: [
      { t: 0, type: 's', model: 'm', in: 64, out: 7, hash_ids: [1] },
      { t: 1, type: 'n', model: 'm', in: 128, out: 7, hash_ids: [1, 2], think_time: 0.05 },
      { t: 2, type: 'n', model: 'm', in: 192, out: 7, hash_ids: [1, 2, 3], think_time: 0.02 },
    ],
  }
  const p = join(dir, 'weka.jsonl')
  writeFileSync(p, `${JSON.stringify(trace)}\n${JSON.stringify({ ...trace, id: 'trace_w2' })}\n`)
  const { s, gt } = await replay(p, 'weka', [])
  assert.equal(gt.length, 6)
  assert.equal(s.tasks?.completed, 2, 'each trace is one task')
  assert.equal(s.tasks?.started, 2)
  const sessions = new Map<string, GroundTruthRecord[]>()
  for (const g of gt) sessions.set(g.headers!['x-session-id']!, [...(sessions.get(g.headers!['x-session-id']!) ?? []), g])
  assert.equal(sessions.size, 2)
  for (const [id, list] of sessions) {
    list.sort((a, b) => a.receivedAtWallMs - b.receivedAtWallMs)
    assert.deepEqual(list.map((g) => g.headers!['x-correlation-id']), [0, 1, 2].map((t) => `${id}-${t}-0`))
    assert.ok(list[0]!.promptTokens < list[1]!.promptTokens && list[1]!.promptTokens < list[2]!.promptTokens)
    for (const [i, thinkMs] of [[1, 50], [2, 20]] as const) {
      const prevEnd = list[i - 1]!.chunks[list[i - 1]!.chunks.length - 1]!.atWallMs
      const gap = list[i]!.receivedAtWallMs - prevEnd
      assert.ok(gap >= thinkMs - 1 && gap < thinkMs + 40, `think gap ${gap} ms, want ${thinkMs}`)
    }
    // hash ids are scoped to the trace, and later turns extend earlier ones: the cache hits within a session
    assert.ok((list[2]!.cachedTokens ?? 0) > 0)
  }
})

test('a GitHub coding-agent session replays in order, each call the recorded gap after the previous ended, its cached tokens hitting the server\'s cache', async () => {
  const call = (atMs: number, durationMs: number, prompt: number, cached: number): Record<string, unknown> => ({ timestamp: new Date(Date.UTC(2026, 2, 2, 10) + atMs).toISOString(), duration_ms: durationMs, prompt_tokens: prompt, completion_tokens: 7, cached_tokens: cached })
  const session = { session_id: 'agent-1', turns: [{ llm_calls: [call(0, 100, 64, 0)], tool_batches: [{ duration_ms: 40 }] }, { llm_calls: [call(160, 100, 128, 64), call(300, 50, 192, 128)] }] }
  const p = join(dir, 'github-agent.jsonl')
  writeFileSync(p, `${JSON.stringify(session)}\n`)
  // blocks of 16 tokens, as the mock's prefix cache has them
  const { s, gt } = await replay(p, 'github-agent', ['--trace-block-tokens', '16'])
  assert.equal(gt.length, 3)
  assert.equal(s.tasks?.completed, 1)
  const list = [...gt].sort((a, b) => a.receivedAtWallMs - b.receivedAtWallMs)
  assert.deepEqual(list.map((g) => g.headers!['x-correlation-id']), [0, 1, 2].map((t) => `tw-session-0-${t}-0`))
  for (const [i, gapMs] of [[1, 60], [2, 40]] as const) {
    const prevEnd = list[i - 1]!.chunks[list[i - 1]!.chunks.length - 1]!.atWallMs
    const gap = list[i]!.receivedAtWallMs - prevEnd
    assert.ok(gap >= gapMs - 1 && gap < gapMs + 40, `gap ${gap} ms, want ${gapMs}`)
  }
  // the trace's cached prefixes (64, then 128 tokens) are prefixes the server's cache really has
  const cached = list.map((g) => g.cachedTokens ?? 0)
  assert.ok(cached[0] === 0 && (cached[1] as number) > 0 && (cached[2] as number) > (cached[1] as number), `cached tokens by call: ${cached.join(', ')}`)
})

test('a bad row stops the run before any load, with a one-line error naming the line', async () => {
  const p = join(dir, 'bad.csv')
  writeFileSync(p, 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,10,2\n2023-11-16 18:15:47.00,ten,2\n')
  const before = mock.groundTruth().length
  const r = await runCli(['bench', '--endpoint', mock.baseUrl, '--trace', p, '--trace-format', 'azure', '--no-progress', '--store', join(dir, 'runs.db'), '--out', join(dir, 'out')], { cwd: dir })
  assert.equal(r.code, 2)
  assert.match(r.stderr, /^tokenwatt: workload\.trace: .*bad\.csv: line 3: ContextTokens must be a whole number/m)
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
  assert.equal(mock.groundTruth().length, before, 'nothing was sent')
})
