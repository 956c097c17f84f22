import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { openStore } from '../../src/adapters/store/sqlite-store.js'
import type { RunManifest } from '../../src/core/store.js'
import { record } from '../../testkit/records.js'

const manifest = (id: string, startedAt: string): RunManifest => ({
  id,
  startedAt,
  epochWallMs: 0,
  toolVersion: '0',
  config: {},
  target: { endpoint: 'http://x/v1', api: 'chat', model: 'm', server: null },
  labels: { team: 'a' },
  meters: [],
})

test('records and samples round-trip exactly, and a run that never finished is still readable', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'tw-store-')), 'nested', 'runs.db')
  let store = openStore(path)
  store.createRun(manifest('20260101-000000-aaaaaa', '2026-01-01T00:00:00Z'))
  const r1 = record({ seq: 0, sentMs: 1.5, chunksMs: [10.25, 20.125], chunkTokens: [1, 3], outputTokens: 4 })
  const r2 = record({ seq: 1, sentMs: 2, chunksMs: [], endMs: null, error: { kind: 'connect', message: 'ECONNREFUSED' }, outputTokens: null, inputTokens: null })
  store.appendRequests('20260101-000000-aaaaaa', [r1])
  store.appendRequests('20260101-000000-aaaaaa', [r2])
  store.appendPowerSamples('20260101-000000-aaaaaa', [{ meterId: 'm0', channel: 'gpu0', atNs: 5, sourceTimeMs: null, powerW: 300.5, energyJ: null }])
  store.close()
  // Simulate a crash: the process ended without finishRun. Reopen.
  store = openStore(path)
  try {
    const runs = store.listRuns()
    assert.equal(runs[0]?.status, 'running')
    assert.equal(runs[0]?.requests, 2)
    assert.deepEqual(store.getRequests('20260101'), [r1, r2])
    assert.equal(store.getPowerSamples('20260101-000000-aaaaaa')[0]?.powerW, 300.5)
    assert.equal(store.getSummary('20260101-000000-aaaaaa'), null)
    store.createRun(manifest('20260102-000000-bbbbbb', '2026-01-02T00:00:00Z'))
    assert.equal(store.resolveRunId('latest'), '20260102-000000-bbbbbb')
    assert.throws(() => store.resolveRunId('2026010'), /ambiguous/)
    assert.throws(() => store.resolveRunId('x%'), /no run/)
  } finally {
    store.close()
  }
})

test('an unwritable store path is a clear config error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-store-'))
  writeFileSync(join(dir, 'file'), '')
  assert.throws(() => openStore(join(dir, 'file', 'runs.db')), (e: Error & { code?: string; hint?: string }) => e.code === 'TW_CONFIG_INVALID' && /cannot open the results store/.test(e.message) && /--store/.test(e.hint ?? ''))
})
