// Sessions against upstream llama-server (built into the stable cache; see llama-server.test.ts): with
// its prompt cache on, later turns of a session reuse the conversation's KV and their TTFT drops; with
// `cache_prompt: false` every turn prefills its whole, growing prompt. Cached tokens are read from what
// llama-server itself reports (timings.cache_n / prompt_tokens_details.cached_tokens).
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { BenchConfigSchema } from '../../src/core/config/bench-schema.js'
import { runBenchFromConfig } from '../../src/cli/bench/bench-runner.js'
import type { CliHost } from '../../src/cli/host.js'
import type { RunSummary } from '../../src/core/summary.js'
import { buildLlamaServer, defaultCacheDir, startLocalEngine, type LocalEngine } from '../../src/engines/local/index.js'

const BUILD_TIMEOUT_MS = 40 * 60_000
let engine: LocalEngine | undefined
let dir = ''

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tw-llama-sessions-'))
  const cacheDir = defaultCacheDir()
  await buildLlamaServer({ cacheDir, onProgress: (line) => process.stderr.write(`# ${line}\n`) })
  // one slot: each session's turns meet the KV its previous turn left
  engine = await startLocalEngine({ engine: 'llama-server', size: 'tiny', parallel: 1, ctx: 4096, cacheDir })
}, { timeout: BUILD_TIMEOUT_MS })

after(async () => {
  await engine?.stop()
  await rm(dir, { recursive: true, force: true })
})

async function sessions(name: string, extraBody: Record<string, unknown>): Promise<RunSummary> {
  assert.ok(engine)
  let stderr = ''
  const host: CliHost = { env: { HOME: dir }, cwd: dir, stdout: { write: () => undefined, isTTY: false }, stderr: { write: (t) => void (stderr += t), isTTY: false }, signal: new AbortController().signal }
  const config = BenchConfigSchema.parse({
    target: { endpoint: engine.baseUrl, model: engine.model, extraBody },
    workload: { seed: 3, input: 700, output: 16, sessions: { turns: 4, count: 3 } },
    warmupRequests: 2,
    load: { type: 'closed-loop', concurrency: 1 },
    out: join(dir, name),
    store: join(dir, 'store.db'),
  })
  const r = await runBenchFromConfig(config, host, { progress: false })
  assert.equal(r.summary.status, 'complete', stderr)
  assert.equal(r.summary.requests.failed, 0, JSON.stringify(r.summary.requests.errorsByKind))
  return r.summary
}

/** TTFT p50 of the later turns (2 and up), summed: the turns whose prompt the cache can mostly serve. */
const laterTtftMs = (s: RunSummary): number => (s.tasks?.byTurn ?? []).filter((t) => t.turn >= 2).reduce((a, t) => a + (t.ttftMs.p50 ?? NaN), 0)

test('later turns are faster with llama-server\'s prompt cache than with cache_prompt: false, and it says how many tokens it reused', async () => {
  // Timing on a shared 2-core machine (another llama-server test may run beside this one): the pair of
  // runs is repeated once if the cached later turns were not faster; the second pair must show it.
  let on: RunSummary | undefined
  let off: RunSummary | undefined
  for (let attempt = 0; attempt < 2; attempt++) {
    off = await sessions(`cache-off-${attempt}`, { cache_prompt: false })
    on = await sessions(`cache-on-${attempt}`, {})
    process.stderr.write(`# TTFT p50 by turn, cache on: ${on.tasks?.byTurn.map((t) => t.ttftMs.p50?.toFixed(1)).join(' ')}; off: ${off.tasks?.byTurn.map((t) => t.ttftMs.p50?.toFixed(1)).join(' ')}\n`)
    if (laterTtftMs(on) < laterTtftMs(off)) break
  }
  assert.ok(on && off)
  process.stderr.write(`# prefix-hit share on ${on.tasks?.prefixHitShare}, off ${off.tasks?.prefixHitShare}; input tokens by turn ${on.tasks?.byTurn.map((t) => t.inputTokensMean?.toFixed(0)).join(' ')}\n`)
  assert.ok(laterTtftMs(on) < laterTtftMs(off), `later turns: ${laterTtftMs(on)} ms with cache vs ${laterTtftMs(off)} ms without`)
  // what llama-server reported: most of each later prompt reused with the cache, nothing without
  assert.ok((on.tasks?.prefixHitShare ?? 0) > 0.3, String(on.tasks?.prefixHitShare))
  assert.ok((on.tasks?.cachedTokensReported ?? 0) > 0)
  assert.ok((off.tasks?.prefixHitShare ?? 1) < 0.05, String(off.tasks?.prefixHitShare))
  // the growing context shows: the last turn's prompt is longer than the first's
  const turns = on.tasks?.byTurn ?? []
  assert.ok((turns[turns.length - 1]?.inputTokensMean ?? 0) > (turns[0]?.inputTokensMean ?? Infinity))
})
