// Kernel receive timestamps (SO_TIMESTAMPNS through recvmsg) on the client's plain-HTTP
// connections: against the C ground-truth server over loopback, with the real OpenAIStreamClient.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { buildServer, readGroundTruth, startServer, type RunningServer } from '../../bench/sse-server-process.js'
import { NodeClock } from '../../src/adapters/clock/node-clock.js'
import { OpenAIStreamClient } from '../../src/adapters/endpoints/openai-client.js'
import { sockaddr } from '../../src/adapters/endpoints/rx-stamps/stamped-connector.js'
import { openLibcSocket } from '../../src/adapters/endpoints/rx-stamps/libc-socket.js'
import type { ChunkStampMode } from '../../src/adapters/endpoints/rx-stamps/choose-stamps.js'
import { ConfigError } from '../../src/core/errors.js'
import { startMockServer } from '../../src/engines/mock/index.js'

const libc = openLibcSocket()
const SKIP = typeof libc === 'string' ? `no kernel receive timestamps on this host: ${libc}` : false
const TOKENS = 30
const ITL_US = 30_000

let dir: string
let server: RunningServer
let logPath: string
before(async () => {
  if (SKIP) return
  dir = mkdtempSync(join(tmpdir(), 'tw-rx-'))
  const bin = buildServer(join(import.meta.dirname, '../../bench/sse-server.c'), dir)
  logPath = join(dir, 'gt.bin')
  server = await startServer(bin, { ttftUs: 20_000, itlUs: ITL_US, batch: 1, logPath }, [])
})
after(async () => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

/**
 * One streamed request while the event loop is blocked 15 ms of every 23; its chunk stamps. The
 * period is not a divisor of the 30-ms ITL, so the blocks sweep across the chunks' arrivals instead
 * of locking in phase between them (which a 30-ms period did: no chunk then ever met a block).
 */
async function streamWhileBusy(mode: ChunkStampMode, seq: number): Promise<{ clock: NodeClock; chunkAtNs: readonly number[]; source: string }> {
  const clock = new NodeClock()
  const client = new OpenAIStreamClient({ baseUrl: `http://127.0.0.1:${server.port}`, model: 'bench', clock, chunkStamps: mode, requireUsage: true })
  await client.warmConnections(1)
  const busy = setInterval(() => {
    const until = clock.nowNs() + 15e6
    while (clock.nowNs() < until);
  }, 23)
  try {
    const r = await client.send({ seq, phase: 'measure', userId: 0, scheduledAtNs: null, text: `tw-seq:${seq} hello`, messages: null, maxTokens: TOKENS, targetInputTokens: null })
    assert.equal(r.error, null)
    assert.equal(r.chunkAtNs.length, TOKENS)
    return { clock, chunkAtNs: r.chunkAtNs, source: client.chunkTimestamps.source }
  } finally {
    clearInterval(busy)
    await client.close()
  }
}

test('a client busy most of the time still dates each chunk at its arrival: kernel-rx within 2 ms of the server\'s write, read-time stamps late', { skip: SKIP }, async () => {
  const kernel = await streamWhileBusy('auto', 700)
  const read = await streamWhileBusy('read', 701)
  assert.equal(kernel.source, 'kernel-rx')
  assert.equal(read.source, 'http-read')
  await server.stop()
  const truth = readGroundTruth(logPath)
  const lateChunks = (seq: number, run: typeof kernel): { late: number; lagsMs: number[] } => {
    const gt = truth.requests.find((r) => r.seq === seq)
    assert.ok(gt !== undefined && gt.chunkNs.length === TOKENS)
    // one CLOCK_MONOTONIC on both sides: lag = client stamp − server write
    const lagsMs = run.chunkAtNs.map((t, k) => Number(BigInt(Math.round(t)) + run.clock.epochHr - (gt.chunkNs[k] as bigint)) / 1e6)
    for (const lag of lagsMs) assert.ok(lag > -0.05, `a chunk dated before the server wrote it: ${lag} ms`)
    return { late: lagsMs.filter((l) => l > 2).length, lagsMs }
  }
  const k = lateChunks(700, kernel)
  const r = lateChunks(701, read)
  // over half the chunks land while the loop is blocked (0–15 ms before it reads them); a machine
  // hiccup longer than an ITL may still merge two chunks into one read, so a little slack
  assert.ok(k.late <= 3, `kernel-rx: ${k.late} of ${TOKENS} chunks dated over 2 ms late: ${k.lagsMs.map((l) => l.toFixed(2)).join(' ')}`)
  assert.ok(r.late >= 6, `http-read should see the blocked loop (else this test proves nothing): ${r.late} late: ${r.lagsMs.map((l) => l.toFixed(2)).join(' ')}`)
})

test('big request bodies go out whole when the send buffer fills, and IPv6 loopback connects', { skip: SKIP }, async () => {
  for (const host of ['127.0.0.1', '::1']) {
    const mock = await startMockServer({ port: 0, host, ttftMs: 1, itlMs: 1 }).catch(() => null)
    if (mock === null) continue // no IPv6 on this host
    try {
      const client = new OpenAIStreamClient({ baseUrl: mock.baseUrl, model: 'mock', requireUsage: true })
      assert.equal(client.chunkTimestamps.source, 'kernel-rx')
      const text = 'lorem ipsum '.repeat(400_000) // 4.8 MB: more than a loopback socket's send buffer takes at once
      const r = await client.send({ seq: 1, phase: 'measure', userId: 0, scheduledAtNs: null, text, messages: null, maxTokens: 4, targetInputTokens: null })
      assert.equal(r.error, null, JSON.stringify(r.error))
      assert.equal(r.outputTokens, 4)
      // a cut body would never parse as JSON at the server: the request would fail or time out
      const gt = mock.groundTruth().at(-1)
      assert.ok(gt !== undefined && gt.promptPreview.startsWith('lorem ipsum') && gt.promptTokens > 100_000, `the server saw ${gt?.promptTokens} prompt tokens`)
      await client.close()
    } finally {
      await mock.close()
    }
  }
})

test('chunkStamps: read and https fall back to read-time stamps with the reason; kernel on https is a config error', { skip: SKIP }, () => {
  const read = new OpenAIStreamClient({ baseUrl: 'http://127.0.0.1:9', chunkStamps: 'read' })
  assert.deepEqual([read.chunkTimestamps.source, read.chunkTimestamps.fallback], ['http-read', 'asked for (chunkStamps: read)'])
  const tls = new OpenAIStreamClient({ baseUrl: 'https://127.0.0.1:9' })
  assert.equal(tls.chunkTimestamps.source, 'http-read')
  assert.match(tls.chunkTimestamps.fallback ?? '', /https endpoint/)
  assert.throws(() => new OpenAIStreamClient({ baseUrl: 'https://127.0.0.1:9', chunkStamps: 'kernel' }), (e: unknown) => e instanceof ConfigError && /chunkStamps: kernel is not possible here/.test(e.message))
})

test('an idle kernel-stamped keep-alive connection does not keep the process alive', { skip: SKIP }, async () => {
  const mock = await startMockServer({ port: 0, ttftMs: 1, itlMs: 1 })
  try {
    const script = [
      `import { OpenAIStreamClient } from ${JSON.stringify(new URL('../../src/adapters/endpoints/openai-client.js', import.meta.url).href)}`,
      `const c = new OpenAIStreamClient({ baseUrl: ${JSON.stringify(mock.baseUrl)}, model: 'mock' })`,
      `const r = await c.send({ seq: 1, phase: 'measure', userId: 0, scheduledAtNs: null, text: 'hi', messages: null, maxTokens: 3, targetInputTokens: null })`,
      `console.log(c.chunkTimestamps.source, r.error === null ? 'ok' : JSON.stringify(r.error))`,
    ].join('\n')
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    const code = await Promise.race([new Promise<number | null>((r) => child.on('exit', r)), new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000))])
    if (code === 'hung') child.kill('SIGKILL')
    assert.equal(code, 0, `the process did not exit by itself (${String(code)}); it printed ${out}`)
    assert.equal(out.trim(), 'kernel-rx ok')
  } finally {
    await mock.close()
  }
})

test('sockaddr: IPv4, IPv6 with ::, and IPv4-mapped IPv6', { skip: SKIP }, () => {
  assert.equal(sockaddr('10.1.2.3', 8000).toString('hex'), '02001f400a010203' + '00'.repeat(8))
  assert.equal(sockaddr('::1', 80).toString('hex'), '0a000050' + '00000000' + '00'.repeat(15) + '01' + '00000000')
  assert.equal(sockaddr('fe80::1:2', 1).subarray(8, 24).toString('hex'), 'fe80' + '0000'.repeat(5) + '00010002')
  assert.equal(sockaddr('::ffff:10.0.0.1', 1).subarray(8, 24).toString('hex'), '0000'.repeat(5) + 'ffff0a000001')
})
