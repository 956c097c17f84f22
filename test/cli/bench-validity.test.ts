// Issue 13.3: a run where most requests failed must not read like a success.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, before, beforeEach, test } from 'node:test'
import { openStore } from '../../src/adapters/store/sqlite-store.js'
import type { RunSummary } from '../../src/core/summary.js'
import { RunSummarySchema } from '../../src/core/summary-schema.js'
import { startMockServer, type MockServer } from '../../src/engines/mock/index.js'
import { runCli } from '../../testkit/cli.js'

let dir: string
let mock: MockServer
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tw-validity-'))
})
// A fresh mock per test: faults strike by request number, and the preflight probe must be request 1.
beforeEach(async () => {
  // 500s, 429s, cut streams and malformed SSE: 1 − (1/2)(2/3)(4/5)(6/7) = 77% of requests fail; the
  // preflight probe (request 1) is spared, as no modulus divides it.
  mock = await startMockServer({
    port: 0,
    ttftMs: 2,
    itlMs: 1,
    faults: { serverError: { every: 2 }, rateLimit: { every: 3 }, disconnect: { every: 5 }, malformed: { every: 7 } },
  })
})
afterEach(async () => {
  await mock.close()
})

const bench = (extra: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  runCli(['bench', '--endpoint', mock.baseUrl, '--model', 'mock', '--concurrency', '4', '--requests', '100', '--input-tokens', '16', '--output-tokens', '8', '--tokenizer', 'estimate', '--no-progress', '--store', join(dir, 'runs.db'), '--out', join(dir, 'out'), ...extra], { cwd: dir })

test('a run where most requests fail is marked invalid in summary.json, the terminal and the report, exits 6, and keeps every record', async () => {
  const r = await bench([])
  assert.equal(r.code, 6, r.stderr)
  const id = /^run (\S+) {2}complete {2}INVALID/m.exec(r.stdout)?.[1]
  assert.ok(id, r.stdout)
  assert.match(r.stdout, /^INVALID: \d+ of 100 measured requests failed \(\d+%\), above the maximum error rate 5\.0%; do not quote these figures$/m)
  const summary = JSON.parse(readFileSync(join(dir, 'out', id, 'summary.json'), 'utf8')) as RunSummary
  assert.equal(RunSummarySchema.safeParse(summary).success, true)
  assert.equal(summary.validity?.verdict, 'invalid')
  assert.equal(summary.validity?.maxErrorRate, 0.05)
  assert.ok(summary.requests.failed >= 70 && summary.requests.failed <= 85, String(summary.requests.failed))
  assert.equal(summary.validity?.errorRate, summary.requests.failed / 100)
  for (const kind of ['http_status', 'rate_limited', 'stream_cut', 'malformed_sse']) assert.ok((summary.requests.errorsByKind[kind] ?? 0) > 0, kind)
  const html = readFileSync(join(dir, 'out', id, 'report.html'), 'utf8')
  assert.match(html, /<span class="badge bad">invalid<\/span>/)
  assert.match(html, /Invalid run: do not quote these figures/)
  const store = openStore(join(dir, 'runs.db'))
  try {
    assert.equal(store.getRequests(id).filter((x) => x.phase === 'measure').length, 100, 'every record is kept')
  } finally {
    store.close()
  }
})

test('--max-error-rate above the failure share keeps the run valid and exits 0', async () => {
  const r = await bench(['--max-error-rate', '0.99', '--json'])
  assert.equal(r.code, 0, r.stderr)
  const s = JSON.parse(r.stdout) as RunSummary
  assert.equal(s.validity?.verdict, 'valid')
  assert.deepEqual(s.validity?.reasons, [])
  assert.ok((s.validity?.errorRate ?? 0) > 0.5)
})

test('--max-error-rate outside 0..1 is a one-line usage error', async () => {
  const r = await bench(['--max-error-rate', '1.5'])
  assert.equal(r.code, 2)
  assert.match(r.stderr, /maxErrorRate/)
  assert.doesNotMatch(r.stderr, /\n\s+at /)
})
