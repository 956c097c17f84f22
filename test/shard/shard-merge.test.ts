import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { openStore } from '../../src/adapters/store/sqlite-store.js'
import type { RunSummary } from '../../src/core/summary.js'
import { startMockServer, type MockServer } from '../../src/engines/mock/index.js'
import { runCli } from '../../testkit/cli.js'

/**
 * Three `bench --shard i/3` processes on loopback against one mock engine, merged, against one process
 * running the same schedule. The mock's ground truth sees every request of both.
 */
let dir: string
let mock: MockServer
const BIN = join(import.meta.dirname, '../../src/cli/bin.ts')
const OUTPUT_TOKENS = 16
const schedule = (endpoint: string): string[] => [
  '--endpoint', endpoint, '--concurrency', '6', '--requests', '60', '--input-tokens', '64', '--output-tokens', String(OUTPUT_TOKENS),
  '--tokenizer', 'estimate', '--warmup', '3', '--meter', 'mock', '--boundary', 'device', '--no-progress',
]

function runShardProcess(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', BIN, ...args], { cwd: join(import.meta.dirname, '../..'), env: { ...process.env, HOME: dir }, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (d: string) => void (stderr += d))
  return once(child, 'exit').then(([code]) => ({ code: code as number | null, stderr }))
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tw-shard-'))
  mock = await startMockServer({ port: 0, ttftMs: 25, itlMs: 4 })
})
after(async () => {
  await mock.close()
})

let single: RunSummary
let merged: RunSummary
let mergeOut = ''

test('three shard processes split one schedule; merge joins them into the run one process gives', async () => {
  const gtBefore = mock.groundTruth().length
  // Spawned processes take a few seconds to start on a loaded machine: a start time well ahead.
  const startAt = new Date(Date.now() + 20_000).toISOString()
  const shards = await Promise.all([0, 1, 2].map((i) => runShardProcess(['bench', ...schedule(mock.baseUrl), '--shard', `${i}/3`, '--start-at', startAt, '--out', join(dir, `shard-${i}`), '--json'])))
  for (const [i, s] of shards.entries()) assert.equal(s.code, 0, `shard ${i}: ${s.stderr}`)
  const shardGt = mock.groundTruth().slice(gtBefore).filter((g) => g.maxTokens === OUTPUT_TOKENS)
  // 60 measured + 3 warm-up requests in all, each sent by exactly one shard
  assert.equal(shardGt.length, 63)

  const r = await runCli(['merge', join(dir, 'shard-0'), join(dir, 'shard-1'), join(dir, 'shard-2'), '--out', join(dir, 'merged'), '--store', join(dir, 'merged.db')], { cwd: dir })
  assert.equal(r.code, 0, r.stderr)
  mergeOut = r.stdout
  merged = JSON.parse(readFileSync(join(dir, 'merged', 'summary.json'), 'utf8')) as RunSummary

  const gtSingle = mock.groundTruth().length
  const one = await runCli(['bench', ...schedule(mock.baseUrl), '--out', join(dir, 'single'), '--store', join(dir, 'single.db'), '--json'], { cwd: dir })
  assert.equal(one.code, 0, one.stderr)
  single = JSON.parse(one.stdout) as RunSummary
  assert.equal(mock.groundTruth().slice(gtSingle).filter((g) => g.maxTokens === OUTPUT_TOKENS).length, 63)

  // the same requests: counts, tokens and sequence numbers
  assert.equal(merged.requests.total, 60)
  assert.equal(merged.requests.total, single.requests.total)
  assert.equal(merged.requests.failed, 0)
  const measured = (db: string): { seq: number; outputTokens: number | null }[] => {
    const s = openStore(join(dir, db))
    try {
      return s.getRequests(s.resolveRunId('latest')).filter((q) => q.phase === 'measure').sort((a, b) => a.seq - b.seq)
    } finally {
      s.close()
    }
  }
  const [mr, sr] = [measured('merged.db'), measured('single.db')]
  assert.deepEqual(mr.map((q) => q.seq), sr.map((q) => q.seq))
  assert.equal(mr.reduce((n, q) => n + (q.outputTokens ?? 0), 0), 60 * OUTPUT_TOKENS)
  assert.equal(sr.reduce((n, q) => n + (q.outputTokens ?? 0), 0), 60 * OUTPUT_TOKENS)
  // the six users are the single run's six users, two per shard
  assert.equal(merged.load.concurrency, 6)

  // latency from the raw records of all shards: equal within timing noise (scripted TTFT 25 ms, ITL 4 ms)
  const near = (a: number | null, b: number | null, tol: number, what: string): void => {
    assert.ok(a !== null && b !== null, what)
    assert.ok(Math.abs(a - b) <= tol, `${what}: merged ${a} vs single ${b}`)
  }
  near(merged.latency.ttftMs.p50, single.latency.ttftMs.p50, 10, 'ttft p50 ms')
  near(merged.latency.tpotMs.p50, single.latency.tpotMs.p50, 2, 'tpot p50 ms')
  assert.ok((merged.latency.ttftMs.p50 as number) >= 24, 'no request can beat the scripted TTFT')
  const thr = (s: RunSummary): number => s.throughput.outputTokensPerS
  assert.ok(Math.abs(thr(merged) / thr(single) - 1) < 0.35, `throughput merged ${thr(merged)} vs single ${thr(single)}`)
  // three shards read the same mock meter: counted once, so power is that of one meter
  assert.equal(merged.power?.meters.length, 1, JSON.stringify(merged.power?.meters))
  near(merged.power?.avgW ?? null, single.power?.avgW ?? null, Math.max(5, 0.25 * (single.power?.avgW ?? 0)), 'avg W')
  assert.ok(merged.warnings.some((w) => /reads the same equipment/.test(w)))
  // clock offsets were measured against the server and reported
  const m = JSON.parse(readFileSync(join(dir, 'merged', 'merge.json'), 'utf8')) as { shards: { index: number; offsetMs: number | null; uncertaintyMs: number | null }[] }
  assert.deepEqual(m.shards.map((s) => s.index), [0, 1, 2])
  for (const s of m.shards) {
    assert.ok(s.offsetMs !== null && s.uncertaintyMs !== null, 'offset measured')
    // one host: the true offset is 0, and it lies inside the reported interval
    assert.ok(Math.abs(s.offsetMs) <= s.uncertaintyMs + 1, `offset ${s.offsetMs} ± ${s.uncertaintyMs}`)
  }
  assert.match(mergeOut, /^shard 2\/3: 20 requests from /m)
})

test('merge refuses a missing, repeated or foreign shard with one line and exit code 8', async () => {
  const d = (i: number): string => join(dir, `shard-${i}`)
  const missing = await runCli(['merge', d(0), d(2), '--out', join(dir, 'bad'), '--store', join(dir, 'bad.db')], { cwd: dir })
  assert.equal(missing.code, 8)
  assert.match(missing.stderr, /shard\(s\) 1\/3 missing: 2 of 3 given/)
  assert.doesNotMatch(missing.stderr, /at .*\.ts:\d+/)
  const twice = await runCli(['merge', d(0), d(1), d(1), '--out', join(dir, 'bad'), '--store', join(dir, 'bad.db')], { cwd: dir })
  assert.equal(twice.code, 8)
  assert.match(twice.stderr, /shard 1\/3 is given twice/)
  const notShard = await runCli(['merge', d(0), d(1), join(dir, 'single'), '--out', join(dir, 'bad'), '--store', join(dir, 'bad.db')], { cwd: dir })
  assert.equal(notShard.code, 8)
  assert.match(notShard.stderr, /no shard run in it/)
})

test('a start time already passed is refused before any load', async () => {
  const r = await runCli(['bench', ...schedule(mock.baseUrl), '--shard', '0/3', '--start-at', '2020-01-01T00:00:00Z', '--out', join(dir, 'late'), '--json'], { cwd: dir })
  assert.equal(r.code, 2, r.stderr)
  assert.match(r.stderr, /startAt 2020-01-01T00:00:00Z passed/)
})
