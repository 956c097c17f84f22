import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { openStore } from '../../src/adapters/store/sqlite-store.js'
import type { RequestRecord } from '../../src/core/records.js'
import { startMockServer, type MockServer } from '../../src/engines/mock/index.js'
import { runCli } from '../../testkit/cli.js'

/** Each kind of schedule, split into shards: the shards' requests are disjoint and together the whole. */
let dir: string
let mock: MockServer
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tw-segments-'))
  mock = await startMockServer({ port: 0, ttftMs: 5, itlMs: 1 })
})
after(async () => {
  await mock.close()
})

async function shardRecords(name: string, args: string[], shard: string): Promise<RequestRecord[]> {
  const db = join(dir, `${name}-${shard.replace('/', 'of')}.db`)
  const r = await runCli(['bench', '--endpoint', mock.baseUrl, '--tokenizer', 'estimate', '--no-progress', ...args, '--shard', shard, '--store', db, '--out', join(dir, 'out')], { cwd: dir })
  assert.equal(r.code, 0, r.stderr)
  const s = openStore(db)
  try {
    return s.getRequests(s.resolveRunId('latest')).filter((q) => q.phase === 'measure')
  } finally {
    s.close()
  }
}

const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b)

test('open loop: each shard sends its stripe of the arrival schedule, at the schedule\'s own offsets', async () => {
  const args = ['--rate', '50', '--arrival', 'constant', '--requests', '12', '--output-tokens', '4']
  const parts = await Promise.all(['0/3', '1/3', '2/3'].map((s) => shardRecords('open', args, s)))
  assert.deepEqual(sorted(parts.flat().map((r) => r.seq)), Array.from({ length: 12 }, (_, j) => j))
  for (const [i, part] of parts.entries()) {
    assert.deepEqual(sorted(part.map((r) => r.seq)), [i, i + 3, i + 6, i + 9])
    // constant 50/s: arrivals 20 ms apart, so this shard's are 60 ms apart on its own clock
    const at = sorted(part.map((r) => r.scheduledAtNs as number))
    for (let k = 1; k < at.length; k++) assert.ok(Math.abs((at[k] as number) - (at[k - 1] as number) - 60e6) < 1e3, `gap ${(at[k] as number) - (at[k - 1] as number)}`)
  }
})

test('closed loop: the users are split, the request budget too', async () => {
  const parts = await Promise.all(['0/2', '1/2'].map((s) => shardRecords('closed', ['--concurrency', '5', '--requests', '11', '--output-tokens', '4'], s)))
  assert.deepEqual(parts.map((p) => p.length), [6, 5])
  assert.deepEqual(sorted([...new Set(parts[0]?.map((r) => r.userId as number))]), [0, 2, 4])
  assert.deepEqual(sorted([...new Set(parts[1]?.map((r) => r.userId as number))]), [1, 3])
  assert.equal(new Set(parts.flat().map((r) => r.seq)).size, 11)
})

test('sessions: each shard runs its stripe of the sessions, whole', async () => {
  const args = ['--sessions', '--turns', '2', '--session-count', '6', '--concurrency', '2', '--input-tokens', '32', '--output-tokens', '4']
  const parts = await Promise.all(['0/2', '1/2'].map((s) => shardRecords('sessions', args, s)))
  assert.deepEqual(sorted([...new Set(parts[0]?.map((r) => r.sessionId as number))]), [0, 2, 4])
  assert.deepEqual(sorted([...new Set(parts[1]?.map((r) => r.sessionId as number))]), [1, 3, 5])
  for (const p of parts) assert.equal(p.length, 6, 'three sessions of two turns')
  assert.equal(new Set(parts.flat().map((r) => r.seq)).size, 12)
})

test('trace replay: each shard replays its stripe of the rows', async () => {
  const p = join(dir, 'trace.jsonl')
  writeFileSync(p, `${[0, 10, 20, 30, 40, 50, 60].map((t, i) => JSON.stringify({ timestamp: t, input_length: 32, output_length: 3, hash_ids: [i] })).join('\n')}\n`)
  const parts = await Promise.all(['0/2', '1/2'].map((s) => shardRecords('trace', ['--trace', p, '--trace-format', 'mooncake'], s)))
  assert.deepEqual(parts.map((q) => q.length), [4, 3])
  // the second shard's rows are trace rows 1, 3, 5: 20 ms apart on its clock
  const at = sorted(parts[1]?.map((r) => r.scheduledAtNs as number) ?? [])
  assert.ok(Math.abs((at[2] as number) - (at[0] as number) - 40e6) < 1e3)
  assert.equal(new Set(parts.flat().map((r) => r.seq)).size, 7)
})
