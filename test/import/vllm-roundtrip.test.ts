import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { startMockServer } from '../../src/engines/mock/index.js'
import type { PowerSample } from '../../src/core/records.js'
import type { RunManifest } from '../../src/core/store.js'
import type { RunSummary } from '../../src/core/summary.js'
import { runCli } from '../../testkit/cli.js'

const close = (a: number | null | undefined, b: number | null | undefined, rel = 1e-6): boolean => a !== null && a !== undefined && b !== null && b !== undefined && Math.abs(a - b) <= rel * Math.max(1, Math.abs(b))

test('a bench against the mock, exported to the vLLM shape and imported back, gives the same figures', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-roundtrip-'))
  const mock = await startMockServer({ port: 0, ttftMs: 20, itlMs: 3, models: ['mock'] })
  const store = ['--store', join(dir, 'runs.db')]
  try {
    const b = await runCli(['bench', '--endpoint', mock.baseUrl, '--concurrency', '4', '--requests', '48', '--output-tokens', '16', '--meter', 'mock', '--boundary', 'device', '--json', '--out', join(dir, 'out'), '--no-progress', ...store], { cwd: dir })
    assert.equal(b.code, 0, b.stderr)
    const bench = JSON.parse(b.stdout) as RunSummary
    const ex = await runCli(['runs', 'export', bench.id, '--format', 'vllm', '-o', 'result.json', ...store], { cwd: dir })
    assert.equal(ex.code, 0, ex.stderr)
    // The bench's own power samples, as a power log with epoch times (what a wall logger would write).
    const all = await runCli(['runs', 'export', bench.id, ...store], { cwd: dir })
    const doc = JSON.parse(all.stdout) as { manifest: RunManifest; powerSamples: PowerSample[] }
    const rows = doc.powerSamples.map((s) => `${(doc.manifest.epochWallMs + s.atNs / 1e6) / 1000},${s.powerW ?? ''},${s.energyJ ?? ''},${s.channel}`)
    writeFileSync(join(dir, 'power.csv'), `timestamp,power_w,energy_j,channel\n${rows.join('\n')}\n`)
    const startIso = new Date(doc.manifest.epochWallMs + bench.window.startS * 1000).toISOString()
    const im = await runCli(['import', 'vllm', 'result.json', '--power', 'power.csv', '--start', startIso, '--json', '--out', join(dir, 'out'), ...store], { cwd: dir })
    assert.equal(im.code, 0, im.stderr)
    const imp = JSON.parse(im.stdout) as RunSummary
    assert.equal(imp.tokens.output, bench.tokens.output)
    assert.equal(imp.tokens.input, bench.tokens.input)
    assert.ok(close(imp.throughput.outputTokensPerS, bench.throughput.outputTokensPerS), `${imp.throughput.outputTokensPerS} vs ${bench.throughput.outputTokensPerS}`)
    assert.ok(close(imp.latency.ttftMs.mean, bench.latency.ttftMs.mean), `${imp.latency.ttftMs.mean} vs ${bench.latency.ttftMs.mean}`)
    // vLLM's detailed file has no per-request end time, so E2E is TTFT + the ITL sum (last chunk, not
    // last byte): TPOT matches to within the few µs between the last chunk and the end of the stream.
    assert.ok(close(imp.latency.tpotMs.p50, bench.latency.tpotMs.p50, 0.01), `${imp.latency.tpotMs.p50} vs ${bench.latency.tpotMs.p50}`)
    // energy over the same span from the same readings (ms-rounded times in the log): within 1 %
    assert.ok(close(imp.efficiency?.outputTokensPerJoule, bench.efficiency?.outputTokensPerJoule, 0.01), `${imp.efficiency?.outputTokensPerJoule} vs ${bench.efficiency?.outputTokensPerJoule}`)
    assert.ok(readFileSync(join(dir, 'result.json'), 'utf8').includes('"itls"'))
  } finally {
    await mock.close()
  }
})
