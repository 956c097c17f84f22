// Each trace reader on small files written here in the formats' published column layouts, read back
// through the streaming file reader; bad rows give line-numbered errors.
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { checkTraceFile, readTraceRows } from '../../src/adapters/datasets/trace-file.js'
import type { TraceFormat } from '../../src/core/config/trace-schema.js'
import { TracePrompts } from '../../src/core/load/trace/trace-prompts.js'
import type { TraceRow } from '../../src/core/load/trace/trace-row.js'
import { TraceTimeline } from '../../src/core/load/trace/trace-timeline.js'

const dir = mkdtempSync(join(tmpdir(), 'tw-trace-'))
async function rows(name: string, format: TraceFormat, text: string): Promise<TraceRow[]> {
  const p = join(dir, name)
  writeFileSync(p, text)
  const out: TraceRow[] = []
  for await (const r of readTraceRows(p, format)) out.push(r)
  return out
}
async function failure(name: string, format: TraceFormat, text: string): Promise<string> {
  const p = join(dir, name)
  writeFileSync(p, text)
  try {
    await checkTraceFile(p, format)
  } catch (e) {
    return (e as Error).message
  }
  return 'no error'
}

test('mooncake JSONL: timestamp (ms), input_length, output_length, hash_ids', async () => {
  const rs = await rows('mooncake.jsonl', 'mooncake', [
    '{"timestamp": 0, "input_length": 6955, "output_length": 52, "hash_ids": [46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 2353, 2354]}',
    '{"timestamp": 0, "input_length": 6472, "output_length": 26, "hash_ids": [46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 2366]}',
    '',
    '{"timestamp": 3052, "input_length": 12754, "output_length": 3, "hash_ids": [46]}',
  ].join('\n'))
  assert.equal(rs.length, 3)
  assert.deepEqual(rs.map((r) => [r.line, r.timestampMs, r.inputTokens, r.outputTokens, r.hashIds?.length]), [[1, 0, 6955, 52, 14], [2, 0, 6472, 26, 13], [4, 3052, 12754, 3, 1]])
})

test('Azure LLM inference CSV: TIMESTAMP (absolute, 100 ns ticks), ContextTokens, GeneratedTokens', async () => {
  const rs = await rows('azure.csv', 'azure', 'TIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-11-16 18:15:46.6805900,374,44\r\n2023-11-16 18:15:50.9951690,396,109\r\n2023-11-16 18:16:00.0000001,879,20\r\n')
  assert.equal(rs.length, 3)
  assert.deepEqual(rs.map((r) => [r.inputTokens, r.outputTokens]), [[374, 44], [396, 109], [879, 20]])
  // sub-millisecond precision kept (a double at Unix-epoch ms resolves ~0.25 µs): 4.314579 s apart
  assert.ok(Math.abs(rs[1]!.timestampMs - rs[0]!.timestampMs - 4314.579) < 1e-3, "to a microsecond")
  assert.equal(rs[0]!.timestampMs, Date.UTC(2023, 10, 16, 18, 15, 46) + 680.59)
})

test('BurstGPT CSV: Timestamp (s), Model, Request tokens, Response tokens, Total tokens, Log Type (and v1.1 with Session ID)', async () => {
  const v1 = await rows('burst.csv', 'burstgpt', 'Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n5,ChatGPT,472,18,490,Conversation log\n45,GPT-4,1087,0,1087,API log\n')
  assert.deepEqual(v1.map((r) => [r.timestampMs, r.inputTokens, r.outputTokens]), [[5000, 472, 18], [45000, 1087, 0]])
  const v11 = await rows('burst11.csv', 'burstgpt', 'Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type\n1.5,"s,1",3,ChatGPT,10,20,30,Conversation log\n')
  assert.deepEqual(v11.map((r) => [r.timestampMs, r.inputTokens, r.outputTokens]), [[1500, 10, 20]])
})

test('Weka/AgentX agentic trace: one session per trace, subagents flattened, think_time and block_size kept', async () => {
  const trace = {
    id: 'trace_0001',
    models: ['claude'],
    block_size: 64,
    hash_id_scope: 'local',
    tool_tokens: 100,
    system_tokens: 200,
    requests: [
      { t: 0, type: 's', model: 'claude', in: 300, out: 20, hash_ids: [1, 2, 3, 4, 5], think_time: 0 },
      { t: 2.5, type: 'subagent', agent_id: 'agent_001', subagent_type: 'Explore', status: 'completed', models: ['claude'], requests: [{ t: 2.6, type: 'n', model: 'claude', in: 128, out: 10, hash_ids: [9, 10] }] },
      { t: 4, type: 'n', model: 'claude', in: 400, out: 8, hash_ids: [1, 2, 3, 4, 5, 6, 7], think_time: 1.25 },
    ],
  }
  const rs = await rows('weka.jsonl', 'weka', `${JSON.stringify(trace)}\n`)
  assert.deepEqual(rs.map((r) => [r.sessionId, r.timestampMs, r.inputTokens, r.outputTokens, r.thinkTimeMs, r.blockTokens]), [
    ['trace_0001', 0, 300, 20, 0, 64],
    ['trace_0001', 2600, 128, 10, null, 64],
    ['trace_0001', 4000, 400, 8, 1250, 64],
  ])
  // the same trace pretty-printed (one object over many lines) reads the same
  const pretty = await rows('weka.json', 'weka', JSON.stringify(trace, null, 2))
  assert.equal(pretty.length, 3)
})

test('GitHub coding-agent sessions: every LLM call of every turn in order, gaps after each call ended, cached tokens as the shared prefix', async () => {
  const session = {
    session_id: 'gh-1',
    turns: [
      { llm_calls: [{ timestamp: '2026-03-02T10:00:00.000Z', duration_ms: 1500, prompt_tokens: 200, completion_tokens: 40, cached_tokens: 0 }], tool_batches: [{ tools: ['read_file'], duration_ms: 300 }] },
      {
        llm_calls: [
          { timestamp: '2026-03-02T10:00:02.000Z', duration_ms: 900, prompt_tokens: 330, completion_tokens: 25, cached_tokens: 192 },
          // a compaction: the cache kept only the system prompt
          { timestamp: '2026-03-02T10:00:02.700Z', duration_ms: 400, input_tokens: 150, output_tokens: 10, cache_read_tokens: 64 },
        ],
      },
    ],
  }
  const r = await rows('gh.jsonl', 'github-agent', `${JSON.stringify(session)}\n${JSON.stringify({ session_id: 7, turns: [{ llm_calls: [{ timestamp: 1772445600000, prompt_tokens: 64, completion_tokens: 1 }] }] })}\n`)
  assert.equal(r.length, 4)
  assert.deepEqual(r.map((x) => [x.sessionId, x.inputTokens, x.outputTokens, x.line]), [['gh-1', 200, 40, 1], ['gh-1', 330, 25, 1], ['gh-1', 150, 10, 1], ['7', 64, 1, 2]])
  assert.equal(r[0]?.timestampMs, Date.parse('2026-03-02T10:00:00.000Z'))
  // think time = this call's start − the previous call's end (negative overlap counts as none)
  assert.deepEqual(r.map((x) => x.thinkTimeMs), [null, 500, 0, null])
  // 64-token blocks: 192 cached tokens keep the first call's 3 blocks of 4, then new ones; the
  // compacted call keeps one block (64 cached) and adds the rest
  assert.deepEqual(r.map((x) => x.hashIds), [[0, 1, 2, 3], [0, 1, 2, 4, 5, 6], [0, 7, 8], [0]])
  assert.ok(r.every((x) => x.blockTokens === 64))
  assert.match(await failure('gh-bad.jsonl', 'github-agent', `${JSON.stringify(session)}\n{"session_id":"x","turns":[{"calls":[]}]}\n`), /line 2: turns\[0\]: a turn needs an "llm_calls" list/)
  assert.match(await failure('gh-bad2.jsonl', 'github-agent', '{"session_id":"x","turns":[{"llm_calls":[{"timestamp":"yesterday","prompt_tokens":1,"completion_tokens":1}]}]}\n'), /line 1: turns\[0\]\.llm_calls\[0\]\.timestamp must be an ISO 8601 time or Unix milliseconds/)
})

test("tokenwatt's own JSONL", async () => {
  const rs = await rows('tw.jsonl', 'jsonl', '{"timestamp_ms": 10, "input_tokens": 5, "output_tokens": 7, "session_id": "a", "think_time_ms": 30, "prompt": "hello there"}\n')
  assert.deepEqual(rs.map((r) => [r.timestampMs, r.inputTokens, r.outputTokens, r.sessionId, r.thinkTimeMs, r.prompt]), [[10, 5, 7, 'a', 30, 'hello there']])
})

test('bad rows: line-numbered errors', async () => {
  assert.match(await failure('bad1.jsonl', 'mooncake', '{"timestamp": 0, "input_length": 1, "output_length": 1}\n{"timestamp": 1, "input_length": "x", "output_length": 1}\n'), /^line 2: input_length must be a whole number/)
  assert.match(await failure('bad2.jsonl', 'mooncake', '{"timestamp": 0, "input_length": 1, "output_length": 1}\n\n{oops\n'), /^line 3: not valid JSON/)
  assert.match(await failure('bad3.csv', 'azure', 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,1,2\nyesterday,1,2\n'), /^line 3: TIMESTAMP "yesterday"/)
  assert.match(await failure('bad4.csv', 'burstgpt', 'Time,Request tokens,Response tokens\n'), /^line 1: the header lacks "Timestamp"/)
  assert.match(await failure('bad5.jsonl', 'weka', '{"id": "t", "requests": [{"t": 0, "type": "q", "in": 1, "out": 1}]}\n'), /^line 1: requests\[0\]: type must be/)
  assert.match(await failure('bad6.jsonl', 'mooncake', '{"timestamp": 0, "input_length": 1, "output_length": 1, "hash_ids": [1, "2"]}\n'), /^line 1: hash_ids must be a list of integers/)
})

test('timeline: start offset, duration slice, idle-gap cap and time scale on the absolute schedule', () => {
  const t = new TraceTimeline({ timeScale: 2, maxIdleGapS: 1, startOffsetS: 0.5, durationS: 10 })
  const placed = [1000, 1200, 1600, 1700, 5700, 5800, 11_700, 11_800].map((ms) => t.place(ms))
  // origin 1000 ms; 0 and 200 ms are before the 500 ms offset; 600 → gap 100 from the offset; 4700 → 4000 capped at 1000
  assert.deepEqual(placed, ['before', 'before', 0.05e9, 0.1e9, 0.6e9, 0.65e9, 'after', 'after'])
})

test('hash ids become shared text blocks: equal leading ids give an equal prefix, a cut last block is a prefix of the whole one', () => {
  const p = new TracePrompts(1, 64, { overheadTokens: 0, tokensPerWord: 1, source: 'estimate' }, true)
  const row = (ids: number[], input: number, session: string | null = null): TraceRow => ({ line: 1, timestampMs: 0, inputTokens: input, outputTokens: 1, hashIds: ids, sessionId: session, thinkTimeMs: null, blockTokens: null, prompt: null })
  const a = p.text(row([1, 2, 3], 192)).split(' ')
  const b = p.text(row([1, 2, 9], 150)).split(' ')
  assert.equal(a.length, 192)
  assert.equal(b.length, 150)
  assert.deepEqual(a.slice(0, 128), b.slice(0, 128), 'blocks 1 and 2 are the same text')
  assert.notDeepEqual(a.slice(128, 150), b.slice(128, 150), 'block 3 differs from block 9')
  const cut = p.text(row([1, 2, 3], 140)).split(' ')
  assert.deepEqual(cut, a.slice(0, 140))
  // session-scoped ids (Weka hash_id_scope local) do not collide across sessions
  assert.notDeepEqual(p.text(row([1], 64, 'x')), p.text(row([1], 64, 'y')))
  // longer than its blocks: padded with seeded words
  assert.equal(p.text(row([1], 100)).split(' ').length, 100)
})
