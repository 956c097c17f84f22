import assert from 'node:assert/strict'
import { test } from 'node:test'
import { findSteadyWindow, mser5 } from '../../src/core/analysis/steady-window.js'
import { closedLoopRun, record } from '../../testkit/records.js'

test('MSER-5 truncates a warm-up transient and nothing from a flat series', () => {
  const flat = Array.from({ length: 100 }, (_, i) => 10 + (i % 2))
  assert.equal(mser5(flat), 0)
  const warm = [...Array.from({ length: 20 }, (_, i) => i / 2), ...Array.from({ length: 80 }, (_, i) => 10 + (i % 3))]
  const cut = mser5(warm)
  assert.ok(cut >= 15 && cut <= 25, `cut ${cut}`)
})

test('closed loop: the window starts after the first wave and ends at the last send', () => {
  // 4 users, slow first wave (prefill storm), 30 requests each.
  const rs = closedLoopRun({ users: 4, perUser: 30, ttftMs: 10, itlMs: 2, tokens: 20, firstWaveExtraMs: 200 })
  const w = findSteadyWindow({ records: rs, loadType: 'closed-loop', concurrency: 4 })
  const lastSendNs = Math.max(...rs.map((r) => r.sentAtNs))
  assert.equal(w.endNs, lastSendNs)
  assert.equal(w.method, 'inflight-plateau+mser5')
  assert.equal(w.warning, null)
  // The first wave's 200 ms with no tokens must be cut.
  assert.ok(w.startNs >= 150e6, `window starts at ${w.startNs / 1e6} ms`)
})

test('too few requests for the concurrency falls back to the whole run, with a warning', () => {
  const rs = [record({ sentMs: 0, chunksMs: [10, 20] }), record({ seq: 1, sentMs: 0, chunksMs: [15, 30] })]
  const w = findSteadyWindow({ records: rs, loadType: 'closed-loop', concurrency: 8 })
  assert.equal(w.method, 'whole-run')
  assert.match(w.warning ?? '', /no steady window/)
  assert.equal(w.startNs, 0)
  assert.equal(w.endNs, 30e6)
})
