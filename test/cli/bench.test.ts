import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { openStore } from '../../src/adapters/store/sqlite-store.js'
import type { RunSummary } from '../../src/core/summary.js'
import { RunSummarySchema } from '../../src/core/summary-schema.js'
import { startMockServer, type MockServer } from '../../src/engines/mock/index.js'
import { runCli } from '../../testkit/cli.js'

let dir: string
let mock: MockServer
const common = (): string[] => ['--store', join(dir, 'runs.db'), '--out', join(dir, 'out'), '--no-progress']

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tw-bench-'))
  mock = await startMockServer({ port: 0, ttftMs: 30, itlMs: 4, models: ['mock-a', 'mock-b'] })
})
after(async () => {
  await mock.close()
})

function summaryOf(stdout: string): RunSummary {
  return JSON.parse(stdout) as RunSummary
}

test('bench against the mock over real HTTP: counts and timings agree with the ground truth', async () => {
  const before = mock.groundTruth().length
  const r = await runCli(['bench', '--endpoint', mock.baseUrl, '--model', 'mock-b', '--concurrency', '4', '--requests', '32', '--input-tokens', '120', '--output-tokens', '24', '--json', ...common()], { cwd: dir })
  assert.equal(r.code, 0, r.stderr)
  const s = summaryOf(r.stdout)
  assert.equal(s.schema, 'tokenwatt.run/v1')
  // The published JSON Schema's source accepts a real summary.
  assert.equal(RunSummarySchema.safeParse(s).success, true, JSON.stringify(RunSummarySchema.safeParse(s).error?.issues))
  assert.equal(s.target.model, 'mock-b')
  assert.equal(s.requests.total, 32)
  assert.equal(s.requests.failed, 0)
  assert.equal(s.tokens.source, 'server-usage')
  // Every measured request generated exactly its max_tokens (24), per the server's usage.
  assert.equal(s.tokens.outputPerRequest.min, 24)
  assert.equal(s.tokens.outputPerRequest.max, 24)
  // Prompt lengths were calibrated against the server's tokenizer: the achieved mean is the target.
  assert.ok(Math.abs((s.tokens.inputPerRequest.mean as number) - 120) <= 3, String(s.tokens.inputPerRequest.mean))
  // Scripted TTFT 30 ms and ITL 4 ms: the client can never see less.
  const ttft = s.latency.ttftMs.p50 as number
  assert.ok(ttft >= 29, `ttft p50 ${ttft}`)
  const tpot = s.latency.tpotMs.p50 as number
  assert.ok(tpot >= 3.9, `tpot p50 ${tpot}`)
  assert.equal(s.client.connectionsOpenedInWindow, 0)
  // The summary says where the chunks were stamped: the kernel's receive time where the host has it.
  const kernelHost = process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64')
  assert.equal(s.client.chunkTimestamps?.source, kernelHost ? 'kernel-rx' : 'http-read', JSON.stringify(s.client.chunkTimestamps))
  assert.equal(s.client.chunkTimestamps.clock, 'monotonic')
  // The server saw the measured requests (plus preflight/calibration probes), and the client's TTFT
  // agrees with what the server actually did (its first content write − request arrival), however
  // loaded the machine: the difference is the measurement's own error.
  const gt = mock.groundTruth().slice(before).filter((g) => g.maxTokens === 24)
  assert.equal(gt.length, 32)
  const serverTtft = gt
    .map((g) => (g.chunks.find((c) => c.kind === 'content')?.atWallMs ?? NaN) - g.receivedAtWallMs)
    .sort((a, b) => a - b)
  const serverP50 = ((serverTtft[15] as number) + (serverTtft[16] as number)) / 2
  assert.ok(Math.abs(ttft - serverP50) < 15, `client TTFT p50 ${ttft} ms vs server ${serverP50} ms`)
  // summary.json was written and the run is in the store.
  const onDisk = JSON.parse(readFileSync(join(dir, 'out', s.id, 'summary.json'), 'utf8')) as RunSummary
  assert.equal(onDisk.id, s.id)
  const store = openStore(join(dir, 'runs.db'))
  try {
    assert.equal(store.getRequests(s.id).filter((q) => q.phase === 'measure').length, 32)
    assert.equal(store.getSummary(s.id)?.throughput.outputTokensPerS, s.throughput.outputTokensPerS)
  } finally {
    store.close()
  }
})

test('open loop at a constant rate: schedule lag is small and nothing is dropped', async () => {
  const r = await runCli(['bench', '--endpoint', mock.url, '--api', 'completions', '--rate', '40', '--arrival', 'constant', '--requests', '40', '--output-tokens', '8', '--json', ...common()], { cwd: dir })
  assert.equal(r.code, 0, r.stderr)
  const s = summaryOf(r.stdout)
  assert.equal(s.load.type, 'constant')
  assert.equal(s.requests.droppedArrivals, 0)
  assert.equal(s.load.scheduleLagMs.count, 40)
  assert.ok((s.load.scheduleLagMs.p50 as number) < 25, `lag p50 ${s.load.scheduleLagMs.p50}`)
  // 40 requests at 40/s span about a second.
  assert.ok(s.window.durationS > 0.3 && s.window.durationS < 1.5, String(s.window.durationS))
})

test('runs list, show and export read the stored runs', async () => {
  const list = await runCli(['runs', 'list', '--json', '--store', join(dir, 'runs.db')], { cwd: dir })
  assert.equal(list.code, 0, list.stderr)
  const rows = JSON.parse(list.stdout) as { id: string; status: string }[]
  assert.ok(rows.length >= 1)
  assert.ok(rows.every((x) => x.status === 'complete'))
  const show = await runCli(['runs', 'show', 'latest', '--store', join(dir, 'runs.db')], { cwd: dir })
  assert.equal(show.code, 0)
  assert.match(show.stdout, /^run \d{8}-\d{6}-[0-9a-f]{6} {2}complete/)
  const exp = await runCli(['runs', 'export', (rows[0] as { id: string }).id.slice(0, 17), '--format', 'jsonl', '--store', join(dir, 'runs.db')], { cwd: dir })
  assert.equal(exp.code, 0, exp.stderr)
  const first = JSON.parse(exp.stdout.split('\n')[0] as string) as { chunkAtNs: number[] }
  assert.ok(Array.isArray(first.chunkAtNs))
  const missing = await runCli(['runs', 'show', 'nope', '--store', join(dir, 'runs.db')], { cwd: dir })
  assert.equal(missing.code, 5)
  assert.equal(missing.stderr, 'tokenwatt: no run "nope" in the store\nhint: list runs with `tokenwatt runs list`\n')
})

test('an SLO gate that fails exits 99 with the summary still written', async () => {
  const r = await runCli(['bench', '--endpoint', mock.baseUrl, '--concurrency', '2', '--requests', '10', '--output-tokens', '4', '--slo-ttft-ms', '1', '--slo-min-attainment', '0.9', '--json', ...common()], { cwd: dir })
  assert.equal(r.code, 99)
  const s = summaryOf(r.stdout)
  assert.equal(s.slo.passed, false)
  assert.equal(s.slo.attainment, 0)
})

test('Ctrl-C stops the run, keeps what was measured, and exits 130', async () => {
  const ac = new AbortController()
  const slow = await startMockServer({ port: 0, ttftMs: 5, itlMs: 20 })
  try {
    setTimeout(() => ac.abort(), 1500)
    const r = await runCli(['bench', '--endpoint', slow.baseUrl, '--concurrency', '2', '--duration', '60', '--output-tokens', '10', '--json', ...common()], { cwd: dir, signal: ac.signal })
    assert.equal(r.code, 130, r.stderr)
    const s = summaryOf(r.stdout)
    assert.equal(s.status, 'interrupted')
    assert.ok(s.requests.succeeded >= 4, String(s.requests.succeeded))
    // The two requests in flight at Ctrl-C were cancelled by the run: kept, counted apart, not failures.
    assert.equal(s.requests.failed, 0)
    assert.equal(s.requests.aborted, 2)
    assert.equal(s.requests.errorsByKind.aborted, 2)
  } finally {
    await slow.close()
  }
})

test('bad input is one line naming the field, with a hint and exit code 2 or 3', async () => {
  const cases: [string[], number, RegExp][] = [
    [['bench', '--endpoint', mock.baseUrl, '--requests', '5', '--concurrency', 'abc'], 2, /--concurrency <n>' argument 'abc' is invalid\. expected a positive whole number/],
    [['bench', '--endpoint', 'ftp://x', '--requests', '5'], 2, /^tokenwatt: target\.endpoint: must be an http\(s\) URL/],
    [['bench', '--endpoint', mock.baseUrl], 2, /^tokenwatt: stop: give stop\.requests or stop\.durationS/],
    [['bench', '--endpoint', mock.baseUrl, '--requests', '5', '--rate', '3', '--concurrency', '2'], 2, /cannot be combined/],
    [['bench', '--endpoint', 'http://127.0.0.1:1', '--requests', '5'], 3, /^tokenwatt: .*127\.0\.0\.1:1/],
    [['bench', '--endpoint', mock.baseUrl, '--model', 'nope', '--requests', '5'], 3, /nope.*mock-a/],
    [['bench', '--bogus'], 2, /unknown option '--bogus'/],
  ]
  for (const [argv, code, re] of cases) {
    const r = await runCli([...argv, ...common()], { cwd: dir })
    assert.equal(r.code, code, `${argv.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, re)
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
  }
})

test('a YAML config: unknown keys and bad values name the field and the line', async () => {
  const file = join(dir, 'bench.yaml')
  writeFileSync(file, `target:\n  endpoint: ${mock.baseUrl}\nload:\n  type: closed-loop\n  concurrency: 0\nstop:\n  requests: 3\n`)
  let r = await runCli(['bench', '-c', file, ...common()], { cwd: dir })
  assert.equal(r.code, 2)
  assert.match(r.stderr, /^tokenwatt: load\.concurrency: Too small: expected number to be >0 \(.*bench\.yaml:5\)\n/)
  writeFileSync(file, `target:\n  endpoint: ${mock.baseUrl}\n  modle: x\nstop:\n  requests: 3\n`)
  r = await runCli(['bench', '-c', file, ...common()], { cwd: dir })
  assert.equal(r.code, 2)
  assert.match(r.stderr, /^tokenwatt: target\.modle: unknown key \(.*bench\.yaml:3\)/)
  writeFileSync(file, `target: [oops\n`)
  r = await runCli(['bench', '-c', file, ...common()], { cwd: dir })
  assert.equal(r.code, 2)
  assert.match(r.stderr, /bench\.yaml:\d+: invalid YAML/)
  // Flags override the file.
  writeFileSync(file, `target:\n  endpoint: http://127.0.0.1:1\nload:\n  type: closed-loop\n  concurrency: 1\nstop:\n  requests: 3\nworkload:\n  output: 4\n`)
  r = await runCli(['bench', '-c', file, '--endpoint', mock.baseUrl, '--json', ...common()], { cwd: dir })
  assert.equal(r.code, 0, r.stderr)
  assert.equal(summaryOf(r.stdout).requests.total, 3)
})

test('API keys are sent but never stored or printed', async () => {
  const seen: string[] = []
  const proxy = createServer((req, res) => {
    seen.push(String(req.headers.authorization))
    // Forward to the mock.
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      void fetch(`${mock.url}${req.url}`, { method: req.method ?? 'GET', headers: { 'content-type': 'application/json' }, ...(req.method === 'POST' ? { body: Buffer.concat(chunks) } : {}) }).then(async (up) => {
        res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' })
        if (up.body) for await (const c of up.body) res.write(c)
        res.end()
      })
    })
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  const port = (proxy.address() as AddressInfo).port
  try {
    const secret = 'sk-test-SECRET-123'
    const r = await runCli(['bench', '--endpoint', `http://127.0.0.1:${port}`, '--requests', '3', '--output-tokens', '3', '--header', 'X-Api-Key: hdr-SECRET-456', '--json', ...common()], { cwd: dir, env: { OPENAI_API_KEY: secret } })
    assert.equal(r.code, 0, r.stderr)
    assert.ok(seen.includes(`Bearer ${secret}`))
    const s = summaryOf(r.stdout)
    const everything = readFileSync(join(dir, 'out', s.id, 'summary.json'), 'utf8') + r.stdout + r.stderr
    assert.doesNotMatch(everything, /SECRET/)
    const exp = await runCli(['runs', 'export', s.id, '--store', join(dir, 'runs.db')], { cwd: dir })
    assert.doesNotMatch(exp.stdout, /SECRET/)
  } finally {
    proxy.close()
  }
})

test('with a meter, tokens per joule and joules per token come out at the chosen boundary with provenance', async () => {
  const r = await runCli(['bench', '--endpoint', mock.baseUrl, '--concurrency', '4', '--requests', '48', '--output-tokens', '24', '--meter', 'mock', '--boundary', 'device', '--json', ...common()], { cwd: dir })
  assert.equal(r.code, 0, r.stderr)
  const s = summaryOf(r.stdout)
  assert.ok(s.power && s.efficiency, 'power and efficiency sections')
  assert.equal(s.power.boundary, 'device')
  assert.deepEqual(s.efficiency.measured, ['device: mock:mock-gpu'])
  const energyJ = s.power.energyJ as number
  // The mock draws idle 100 W + 5 W per stream in flight: with 4 streams, about 120 W.
  assert.ok((s.power.avgW as number) > 100 && (s.power.avgW as number) < 125, String(s.power.avgW))
  assert.ok(Math.abs((s.efficiency.joulesPerOutputToken as number) - energyJ / s.tokens.output) < 1e-9)
  assert.ok(Math.abs((s.efficiency.outputTokensPerJoule as number) * (s.efficiency.joulesPerOutputToken as number) - 1) < 1e-9)
  const iv = s.efficiency.interval as { low: number; high: number }
  assert.ok(iv.low <= (s.efficiency.joulesPerOutputToken as number) && (s.efficiency.joulesPerOutputToken as number) <= iv.high)
})
