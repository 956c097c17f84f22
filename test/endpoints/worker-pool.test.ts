import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { NodeClock } from '../../src/adapters/clock/node-clock.js'
import { shouldAddThread } from '../../src/adapters/endpoints/worker-pool/auto-policy.js'
import { WorkerPoolClient } from '../../src/adapters/endpoints/worker-pool/worker-pool-client.js'
import type { ClientMonitor, InferenceRequest } from '../../src/core/ports.js'
import type { RunSummary } from '../../src/core/summary.js'
import { startMockServer } from '../../src/engines/mock/index.js'
import { runCli } from '../../testkit/cli.js'

/**
 * `--workers`: the load sent from worker threads, each with its own undici pool, against the mock on
 * loopback. The mock shares the test's clock, so its ground truth says when every chunk was written
 * on the same timeline the load threads stamp arrivals on.
 */
const clock = new NodeClock()
const ms = (ns: number): number => ns / 1e6

function request(seq: number, maxTokens = 10): InferenceRequest {
  return { seq, phase: 'measure', userId: seq % 8, scheduledAtNs: null, text: `req-${seq} tell me about power`, messages: null, maxTokens, targetInputTokens: 10 }
}

const idleMonitor: ClientMonitor = { start: () => undefined, stop: () => ({ cpuUtilization: null, eventLoopDelayP99Ms: null }) }

test('two load threads: every chunk is stamped on the run clock after the server wrote it, and both threads carry load', async () => {
  const mock = await startMockServer({ port: 0, ttftMs: 20, itlMs: 4, clock })
  const client = new WorkerPoolClient({ client: { baseUrl: mock.url, clock }, workers: 2 })
  try {
    const target = await client.preflight()
    assert.equal(target.model, 'mock')
    assert.equal(client.workerCount, 2)
    await client.warmConnections(8)
    const monitor = client.monitor(idleMonitor)
    monitor.start()
    // eight users, five requests each, as a closed loop sends them
    const records = (await Promise.all(Array.from({ length: 8 }, async (_, u) => {
      const mine = []
      for (let k = 0; k < 5; k++) mine.push(await client.send(request(u * 5 + k)))
      return mine
    }))).flat()
    const watched = monitor.stop()
    assert.equal(records.length, 40)
    for (const r of records) {
      assert.equal(r.error, null, JSON.stringify(r.error))
      assert.equal(r.outputTokens, 10)
      const gt = mock.groundTruth().find((g) => g.promptPreview.startsWith(`req-${r.seq} `))
      assert.ok(gt, `no ground truth for req-${r.seq}`)
      assert.ok(gt.receivedAtNs >= r.sentAtNs, 'sent before the server received it')
      const writes = gt.chunks.filter((c) => c.kind === 'content')
      assert.equal(r.chunkAtNs.length, writes.length)
      writes.forEach((w, i) => {
        const at = r.chunkAtNs[i] as number
        assert.ok(at >= w.atNs, `req-${r.seq} chunk ${i} stamped ${ms(w.atNs - at).toFixed(3)} ms before the server wrote it: not the run clock`)
        assert.ok(ms(at - w.atNs) < 250, `req-${r.seq} chunk ${i} arrived ${ms(at - w.atNs)} ms after its write`)
      })
    }
    // the 8 warm connections were split 4 + 4 and reused: no thread opened one inside the load
    assert.equal(client.connectionStats().opened, 8 + 1, 'eight warm connections and the preflight one')
    assert.equal(watched.threads?.count, 2)
    assert.equal(watched.threads?.mode, 'fixed')
    assert.equal(watched.threads?.utilization.length, 2)
    for (const u of watched.threads?.utilization ?? []) assert.ok(u > 0 && u < 1, `thread utilization ${u}`)
  } finally {
    await client.close()
    await mock.close()
  }
})

test('an abort reaches the load threads: requests in flight come back as aborted records at once', async () => {
  const mock = await startMockServer({ port: 0, ttftMs: 10, itlMs: 50, clock })
  const client = new WorkerPoolClient({ client: { baseUrl: mock.url, clock }, workers: 2 })
  try {
    await client.preflight()
    await client.warmConnections(6) // the threads are up
    const ac = new AbortController()
    const pending = Array.from({ length: 6 }, (_, i) => client.send(request(100 + i, 200), ac.signal))
    await clock.sleepUntil(clock.nowNs() + 300e6)
    const abortedAtNs = clock.nowNs()
    ac.abort()
    const records = await Promise.all(pending)
    assert.ok(ms(clock.nowNs() - abortedAtNs) < 2_000, 'the threads stopped their streams promptly')
    for (const r of records) {
      assert.equal(r.error?.kind, 'aborted', JSON.stringify(r.error))
      assert.ok(r.chunkAtNs.length > 0 && r.chunkAtNs.length < 200, `chunks before the abort: ${r.chunkAtNs.length}`)
    }
  } finally {
    await client.close()
    await mock.close()
  }
})

test('auto adds a thread only when the busiest one is the limit, load is there to share and a CPU is left', () => {
  const base = { busy: [{ thread: 0, share: 0.93 }], threads: 1, maxThreads: 2, warming: false, inflight: 512, sinceLastAddMs: Infinity }
  assert.deepEqual(shouldAddThread(base), { add: true, reason: "load thread 0's event loop was 93 % busy with 512 requests in flight" })
  assert.equal(shouldAddThread({ ...base, busy: [{ thread: 0, share: 0.6 }] }).add, false, 'not busy enough')
  assert.equal(shouldAddThread({ ...base, threads: 2 }).add, false, 'no CPU left')
  assert.equal(shouldAddThread({ ...base, warming: true }).add, false, 'the last one added is still warming')
  assert.equal(shouldAddThread({ ...base, inflight: 1 }).add, false, 'nothing to share')
  assert.equal(shouldAddThread({ ...base, sinceLastAddMs: 400 }).add, false, 'the last one added has not taken its share yet')
  const two = shouldAddThread({ ...base, maxThreads: 4, threads: 2, busy: [{ thread: 0, share: 0.5 }, { thread: 1, share: 0.97 }] })
  assert.ok(two.add && /^load thread 1's event loop was 97 %/.test(two.reason), JSON.stringify(two))
})

test('bench --workers 2 sends the whole schedule from two threads; the summary says so; bad values get one line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-workers-'))
  const mock = await startMockServer({ port: 0, ttftMs: 15, itlMs: 3 })
  try {
    const before = mock.groundTruth().length
    const args = ['--endpoint', mock.url, '--concurrency', '8', '--requests', '48', '--warmup', '4', '--output-tokens', '12', '--tokenizer', 'estimate', '--no-progress', '--store', join(dir, 'db.sqlite'), '--out', join(dir, 'out'), '--json']
    const r = await runCli(['bench', ...args, '--workers', '2'], { cwd: dir })
    assert.equal(r.code, 0, r.stderr)
    const s = JSON.parse(r.stdout) as RunSummary
    assert.equal(s.requests.total, 48)
    assert.equal(s.requests.failed, 0)
    assert.equal(mock.groundTruth().slice(before).filter((g) => g.maxTokens === 12).length, 52, '48 measured and 4 warm-up requests, each sent once')
    assert.equal(s.client.workers?.count, 2)
    assert.equal(s.client.workers?.mode, 'fixed')
    assert.equal(s.client.workers?.utilization.length, 2)
    assert.match(s.client.chunkTimestamps?.includes ?? '', /stamped in the load thread/)
    assert.equal((s.config as { workers?: unknown }).workers, 2)

    // YAML takes the same key; auto starts with one thread
    writeFileSync(join(dir, 'auto.yaml'), `target: { endpoint: "${mock.url}" }\nload: { type: closed-loop, concurrency: 4 }\nstop: { requests: 12 }\nworkers: auto\n`)
    const auto = await runCli(['bench', '-c', join(dir, 'auto.yaml'), '--no-progress', '--store', join(dir, 'db.sqlite'), '--out', join(dir, 'out'), '--json', '--tokenizer', 'estimate'], { cwd: dir })
    assert.equal(auto.code, 0, auto.stderr)
    const a = JSON.parse(auto.stdout) as RunSummary
    assert.equal(a.client.workers?.mode, 'auto')
    assert.equal(a.client.workers?.count, 1 + (a.client.workers?.added.length ?? 0))

    const bad = await runCli(['bench', ...args, '--workers', '0'], { cwd: dir })
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /--workers.*expected a positive whole number of threads or auto/)
    const badYaml = join(dir, 'bad.yaml')
    writeFileSync(badYaml, `target: { endpoint: "${mock.url}" }\nstop: { requests: 2 }\nworkers: many\n`)
    const by = await runCli(['bench', '-c', badYaml, '--no-progress'], { cwd: dir })
    assert.equal(by.code, 2)
    assert.match(by.stderr, /workers/)
  } finally {
    await mock.close()
  }
})
