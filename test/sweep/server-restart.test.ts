import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { freePort } from '../../src/engines/local/child-process.js'
import { defaultCacheDir, ensureModelFile, findLlamaServer } from '../../src/engines/local/index.js'
import type { SweepResult } from '../../src/core/sweep/sweep-result.js'
import { runCli } from '../../testkit/cli.js'

// The restart knob end to end against the real llama-server (built by `npm test`'s pretest step):
// the sweep restarts it per point with `--parallel {parallel}` and measures each.
test('server restart knob: llama-server --parallel {parallel} restarted per point, log kept, server stopped after', async (t) => {
  const cacheDir = defaultCacheDir()
  const server = await findLlamaServer(cacheDir)
  if (!server) return t.skip('llama-server is not built (npm test builds it before the tests: scripts/ensure-engine.ts)')
  const model = await ensureModelFile({ size: 'tiny', quant: 'f16', cacheDir })
  const dir = mkdtempSync(join(tmpdir(), 'tokenwatt-restart-'))
  const port = await freePort('127.0.0.1')
  const command = `exec "${server.binaryPath}" -m "${model.path}" --host 127.0.0.1 --port ${port} -a tiny -t 1 -tb 1 -c 2048 --parallel {parallel} --no-webui`
  const r = await runCli(
    ['sweep', '--endpoint', `http://127.0.0.1:${port}`, '--server-command', command, '--server-health-url', `http://127.0.0.1:${port}/health`, '--knob', 'server.parallel=1,2', '--meter', 'estimate:10-65', '--concurrency', '2', '--requests', '4', '--output-tokens', '8', '--input-tokens', '32', '--tokenizer', 'estimate', '--out', join(dir, 'out'), '--store', join(dir, 'db.sqlite'), '--json', '--no-progress'],
    { cwd: dir },
  )
  assert.equal(r.code, 0, r.stderr)
  const s = JSON.parse(r.stdout) as SweepResult
  assert.deepEqual(s.points.map((p) => p.key), ['server.parallel=1', 'server.parallel=2'])
  for (const p of s.points) assert.equal(p.runIds.length, 1)
  const log = readFileSync(join(dir, 'out', s.id, 'server.log'), 'utf8')
  assert.match(log, /tokenwatt sweep: exec .*--parallel 1 /)
  assert.match(log, /tokenwatt sweep: exec .*--parallel 2 /)
  // each restart really ran with its slot count: llama-server says so as it loads the model
  // (`load_model: initializing, n_slots = N`). Throughput is not compared: 4 requests on a loaded
  // 2-core machine do not order the two points reliably.
  assert.match(log, /n_slots = 1\b/)
  assert.match(log, /n_slots = 2\b/)
  for (const p of s.points) assert.ok((p.repeats[0]?.outputTokensPerS ?? 0) > 0, p.key)
  // the server is gone once the sweep ends
  await assert.rejects(fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) }))
})
