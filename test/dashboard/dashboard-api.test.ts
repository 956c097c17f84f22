import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { get, type IncomingMessage } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { openStore } from '../../src/adapters/store/sqlite-store.js'
import type { ResultsStore } from '../../src/core/store.js'
import { CONTENT_SECURITY_POLICY, createDashboardApp } from '../../src/dashboard/app.js'
import { startDashboard } from '../../src/dashboard/server.js'

let store: ResultsStore
const HOSTILE = '<img src=x onerror=alert(1)>'

before(() => {
  store = openStore(join(mkdtempSync(join(tmpdir(), 'tw-dash-')), 'runs.db'))
  const base = { startedAt: '2026-12-05T21:00:00.000Z', epochWallMs: 0, toolVersion: 't', config: {}, meters: [] }
  store.createRun({ ...base, id: 'run-bench', target: { endpoint: 'http://127.0.0.1:1/v1', api: 'chat', model: HOSTILE, server: null }, labels: {} })
  store.createRun({ ...base, id: 'run-monitor', target: { endpoint: 'http://127.0.0.1:2/v1', api: 'chat', model: 'm', server: null }, labels: { kind: 'monitor' } })
})
after(() => store.close())

test('loopback dashboard: CSP on every response, runs listed by kind, server strings returned as JSON data', async () => {
  const app = createDashboardApp({ store, token: null })
  const res = await app.request('http://127.0.0.1:8080/api/runs')
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY)
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
  const body = (await res.json()) as { runs: { id: string; kind: string; model: string }[] }
  assert.deepEqual(body.runs.map((r) => [r.id, r.kind]).sort(), [['run-bench', 'bench'], ['run-monitor', 'monitor']])
  assert.equal(body.runs.find((r) => r.id === 'run-bench')?.model, HOSTILE)
  const monitors = (await (await app.request('http://localhost/api/runs?kind=monitor')).json()) as { runs: { id: string }[] }
  assert.deepEqual(monitors.runs.map((r) => r.id), ['run-monitor'])
  // A page that DNS-rebinds its own name onto 127.0.0.1 sends its own Host: refused.
  const rebound = await app.request('http://evil.example/api/runs')
  assert.equal(rebound.status, 403)
  assert.equal(rebound.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY)
  assert.equal((await app.request('http://127.0.0.1/api/runs/nope')).status, 404)
})

test('bound beyond loopback: /api needs the bearer token', async () => {
  const app = createDashboardApp({ store, token: 'a'.repeat(32) })
  assert.equal((await app.request('http://10.0.0.5/api/runs')).status, 401)
  assert.equal((await app.request('http://10.0.0.5/api/runs', { headers: { authorization: `Bearer ${'b'.repeat(32)}` } })).status, 401)
  const ok = await app.request('http://10.0.0.5/api/runs/run-bench', { headers: { authorization: `Bearer ${'a'.repeat(32)}` } })
  assert.equal(ok.status, 200)
  assert.equal(((await ok.json()) as { manifest: { id: string } }).manifest.id, 'run-bench')
})

test('a monitor session\'s live snapshot counts the servers\' tokens from its scrape rounds, with power and J/token over the same span', async () => {
  const meter = { id: 'gpu', kind: 'mock', boundary: 'device', hasCounter: true, periodMs: 1000, averagingWindowMs: 0, accuracyRel: 0, accuracyW: 0, estimated: false, description: 'test' } as const
  store.createRun({ id: 'run-monitor-live', startedAt: '2026-12-06T10:00:00.000Z', epochWallMs: 0, toolVersion: 't', config: {}, meters: [meter], target: { endpoint: 'http://127.0.0.1:3/metrics', api: 'chat', model: 'm', server: 'vllm' }, labels: { kind: 'monitor' } })
  const none = { ttft: new Map<number, number>(), itl: new Map<number, number>(), e2e: new Map<number, number>() }
  // four rounds a second apart; each after the first adds 100 output tokens (the first is the baseline)
  store.appendMonitorTicks('run-monitor-live', [0, 1, 2, 3].map((s) => ({ atNs: s * 1e9, outputTokens: s === 0 ? 0 : 100, inputTokens: 0, running: 1, histograms: none, targetsUp: 1, targetsDown: 0, resets: 0 })))
  // a 100 W energy counter read every 0.5 s
  store.appendPowerSamples('run-monitor-live', Array.from({ length: 7 }, (_, i) => ({ meterId: 'gpu', channel: 'g0', atNs: i * 0.5e9, sourceTimeMs: null, powerW: 100, energyJ: i * 50 })))
  const app = createDashboardApp({ store, token: null })
  const snap = (await (await app.request('http://127.0.0.1/api/runs/run-monitor-live/live')).json()) as { source: string; outputTokens: number; outputTokensPerSLast10s: number; meters: { avgW: number; joulesPerOutputToken: number }[] }
  assert.equal(snap.source, 'server-counters')
  assert.equal(snap.outputTokens, 300)
  assert.equal(snap.outputTokensPerSLast10s, 100)
  assert.ok(Math.abs((snap.meters[0]?.avgW ?? 0) - 100) < 1e-9)
  assert.ok(Math.abs((snap.meters[0]?.joulesPerOutputToken ?? 0) - 1) < 1e-9, JSON.stringify(snap.meters))
})

test('closing the server does not wait on a page left open: a live stream of a run still running is cut after the grace', async () => {
  const server = await startDashboard({ store, host: '127.0.0.1', port: 0 })
  const req = get(`${server.url}api/runs/run-bench/stream`)
  const res = await new Promise<IncomingMessage>((resolve, reject) => req.once('response', resolve).once('error', reject))
  assert.match(res.headers['content-type'] ?? '', /text\/event-stream/)
  const first = await new Promise<string>((resolve) => res.once('data', (d: Buffer) => resolve(d.toString())))
  assert.match(first, /"status":"running"/)
  const ended = new Promise<void>((resolve) => res.once('close', () => resolve()))
  const t0 = performance.now()
  await server.close()
  const tookMs = performance.now() - t0
  await ended
  assert.ok(tookMs < 5000, `close took ${tookMs.toFixed(0)} ms`)
})
