import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { openStore } from '../../src/adapters/store/sqlite-store.js'
import type { RunSummary } from '../../src/core/summary.js'
import { startMockServer, type MockPowerReading } from '../../src/engines/mock/index.js'
import { defaultCacheDir, startLocalEngine } from '../../src/engines/local/index.js'
import { findLlamaServer } from '../../src/engines/local/llama-server-build.js'
import { runCli } from '../../testkit/cli.js'

// The embedded llama-server (built once into the cache by `tokenwatt engine build`) is the point of this
// file; this test never builds it. Without it, say so loudly.
const BINARY = await findLlamaServer(defaultCacheDir())
const SKIP = BINARY === null ? 'SKIPPED: no llama-server in the cache — run `tokenwatt engine build` once' : false
if (SKIP) process.stderr.write(`\n*** test/monitor/monitor-llama-server.test.ts ${SKIP} ***\n\n`)

const LOAD_CLIENT = fileURLToPath(new URL('../../testkit/monitor/load-client.mjs', import.meta.url))

test('monitor --preset llamacpp against the embedded llama-server under load from another process: every token counted, tokens/J = tokens ÷ trace energy (1 %)', { skip: SKIP, timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-monitor-llama-'))
  const engine = await startLocalEngine({ engine: 'llama-server', size: 'tiny', parallel: 2, ctx: 1024, cacheDir: defaultCacheDir() })
  // The mock's power trace stands in for the accelerator's meter (an exact energy counter).
  const power = await startMockServer({ port: 0, power: { idleW: 120, perStreamW: 0 } })
  const readings: MockPowerReading[] = [power.power()]
  const poll = setInterval(() => readings.push(power.power()), 10)
  try {
    const monitor = runCli(
      ['monitor', '--server-metrics', `${engine.rootUrl}/metrics`, '--preset', 'llamacpp', '--meter', `mock:${power.url}`, '--interval', '0.5s', '--duration', '7s', '--out', dir, '--store', join(dir, 'tw.db'), '--json'],
      { cwd: dir },
    )
    await new Promise((r) => setTimeout(r, 1200))
    // All traffic falls inside the session, so the server's counters must add up to every token it sent.
    const load = await new Promise<{ requests: number; errors: number; completionTokens: number }>((resolve, reject) => {
      const child = spawn(process.execPath, [LOAD_CLIENT, engine.baseUrl, '2', '3000', '24', engine.model], { stdio: ['ignore', 'pipe', 'inherit'] })
      let out = ''
      child.stdout.on('data', (c: Buffer) => (out += c.toString()))
      child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as { requests: number; errors: number; completionTokens: number }) : reject(new Error(`load client exited ${code}`))))
    })
    const run = await monitor
    clearInterval(poll)
    // one reading after the session ended: the 10-ms poll may not have fired between the window's end
    // and the monitor's exit (CI once failed here with "trace ends before the window")
    readings.push(power.power())
    assert.equal(run.code, 0, run.stderr)
    // llama-server (cpp-httplib) closes idle keep-alive sockets, so a few of the client's requests die on a
    // stale socket before the server reads them (UND_ERR_SOCKET); they generate nothing and are not counted.
    assert.ok(load.requests >= 2 && load.errors <= load.requests * 0.1, JSON.stringify(load))
    const s = JSON.parse(run.stdout) as RunSummary
    assert.equal(s.tokens.output, load.completionTokens, 'llamacpp:tokens_predicted_total increases = the usage the server reported to the client')
    assert.ok(s.tokens.input > 0, 'llamacpp:prompt_tokens_total')

    const store = openStore(join(dir, 'tw.db'))
    const epoch = store.getManifest(s.id).epochWallMs
    store.close()
    const at = (wallMs: number): number => {
      for (let i = 1; i < readings.length; i++) {
        const a = readings[i - 1] as MockPowerReading
        const b = readings[i] as MockPowerReading
        if (b.timeMs >= wallMs) return a.energyJ + ((b.energyJ - a.energyJ) * (wallMs - a.timeMs)) / Math.max(1e-9, b.timeMs - a.timeMs)
      }
      throw new Error('trace ends before the window')
    }
    const energyJ = at(epoch + s.window.endS * 1000) - at(epoch + s.window.startS * 1000)
    const expected = load.completionTokens / energyJ
    const got = s.efficiency?.outputTokensPerJoule ?? null
    t.diagnostic(`window ${s.window.durationS.toFixed(2)} s: monitor ${s.tokens.output} tokens (client usage ${load.completionTokens}), ${got?.toFixed(4)} tok/J; trace ${energyJ.toFixed(1)} J → ${expected.toFixed(4)} tok/J`)
    assert.ok(got !== null && Math.abs(got - expected) / expected < 0.01, `tokens/J ${got} vs ${expected}`)
  } finally {
    clearInterval(poll)
    await power.close()
    await engine.stop()
    rmSync(dir, { recursive: true, force: true })
  }
})
