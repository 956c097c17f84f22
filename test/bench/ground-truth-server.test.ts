// The benchmark's ground-truth chain, end to end over loopback: the C SSE server built with cc, the
// real OpenAIStreamClient streaming from it, the binary log read back, and the comparison that
// `npm run bench:client` prints. Small and loose on timing (shared CI machines); exact on counts.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { request } from 'undici'
import { compareWithGroundTruth } from '../../bench/accuracy.js'
import type { RecordsFile } from '../../bench/client-worker.js'
import { buildServer, readGroundTruth, startServer } from '../../bench/sse-server-process.js'
import { NodeClock } from '../../src/adapters/clock/node-clock.js'
import { OpenAIStreamClient } from '../../src/adapters/endpoints/openai-client.js'

const TOKENS = 20
const TTFT_US = 20_000
const ITL_US = 2_000

test('ground-truth server: client records match the server log chunk for chunk, on one clock', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-gt-'))
  try {
    const bin = buildServer(join(import.meta.dirname, '../../bench/sse-server.c'), dir)
    const logPath = join(dir, 'gt.bin')
    const server = await startServer(bin, { ttftUs: TTFT_US, itlUs: ITL_US, batch: 1, logPath }, [])
    const base = `http://127.0.0.1:${server.port}`

    const models = await request(`${base}/v1/models`)
    assert.equal(models.statusCode, 200)
    assert.equal(((await models.body.json()) as { data: { id: string }[] }).data[0]?.id, 'bench')
    const plain = await request(`${base}/v1/completions`, { method: 'POST', body: JSON.stringify({ prompt: 'x', max_tokens: 3 }) })
    assert.equal(((await plain.body.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens, 3)

    const clock = new NodeClock()
    const client = new OpenAIStreamClient({ baseUrl: base, model: 'bench', clock, requireUsage: true })
    const target = await client.preflight()
    assert.equal(target.streamsUsage, true)
    await client.warmConnections(3)
    const records = await Promise.all(
      [100, 101, 102].map((seq) =>
        client.send({ seq, phase: 'measure', userId: seq - 100, scheduledAtNs: null, text: `tw-seq:${seq} hello`, messages: null, maxTokens: TOKENS, targetInputTokens: null }),
      ),
    )
    await client.close()
    const stats = await server.stop()
    assert.ok(stats.tokens >= 3 * TOKENS)

    for (const r of records) {
      assert.equal(r.error, null)
      assert.equal(r.chunkAtNs.length, TOKENS, 'the role chunk is not content; every token chunk is')
      assert.equal(r.outputTokens, TOKENS)
      assert.equal(r.finishReason, 'length')
    }
    const truth = readGroundTruth(logPath)
    const measured = truth.requests.filter((r) => r.seq >= 100)
    assert.equal(measured.length, 3)
    for (const r of measured) {
      assert.equal(r.chunkNs.length, TOKENS)
      assert.ok(r.recvNs <= r.readNs, 'kernel arrival precedes the server reading it')
      // absolute schedule: chunk k never before arrival + TTFT + k·ITL (a late server sends what is due together)
      for (let k = 0; k < TOKENS; k++) assert.ok(Number(r.chunkNs[k]! - r.recvNs) >= (TTFT_US + k * ITL_US) * 1e3, `chunk ${k} early`)
    }

    const file: RecordsFile = {
      epochHr: clock.epochHr.toString(),
      records: records.map((r) => ({ seq: r.seq, sentAtNs: r.sentAtNs, headersAtNs: r.headersAtNs, chunkAtNs: r.chunkAtNs, outputTokens: r.outputTokens, error: null })),
    }
    const report = compareWithGroundTruth(file, truth)
    assert.equal(report.matched, 3)
    assert.equal(report.chunkCountMismatch, 0)
    assert.equal(report.connectInsideTtft, 0, 'warmed keep-alive connections carry the requests')
    // one CLOCK_MONOTONIC: nothing arrives before it was written (a few µs of slack for rounding)
    assert.ok(report.deliveryLagMs.min > -0.01, `delivery lag min ${report.deliveryLagMs.min} ms`)
    assert.ok(report.ttftErrorMs.min > -0.01 && report.ttftErrorMs.max < 200, `TTFT error ${report.ttftErrorMs.min}..${report.ttftErrorMs.max} ms`)
    assert.equal(report.itlErrorMs.n, 3 * (TOKENS - 1))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
