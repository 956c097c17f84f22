import assert from 'node:assert/strict'
import { test } from 'node:test'
import { gridSize, parseKnobSpec } from '../../src/core/sweep/knob-spec.js'
import { adaptiveSearch, gridSearch, type Evaluate } from '../../src/core/sweep/search.js'
import { DEFAULT_DEVICE as P, itlMs, joulesPerToken, relativeClock } from '../../src/engines/mock/device-model.js'

// The device model of the mock engine: J per good output token at (cap, concurrency) under a TPOT SLO.
const TPOT_SLO_MS = 20
const onDeviceModel: Evaluate = async (k) => {
  const cap = k['gpu.power-limit-w'] as number
  const batch = k.concurrency as number
  const f = relativeClock(P, cap, null)
  const tpot = itlMs(P, batch, f)
  const feasible = tpot <= TPOT_SLO_MS
  return { cost: joulesPerToken(P, batch, f, cap), feasible, violation: feasible ? 0 : tpot / TPOT_SLO_MS - 1 }
}

test('adaptive reaches the grid optimum within one grid step in at most 40% of the grid points', async () => {
  const axes = [parseKnobSpec('concurrency=1,2,4,6,8,12,16'), parseKnobSpec('gpu.power-limit-w=200:700:25')]
  const grid = await gridSearch(axes, onDeviceModel)
  const adaptive = await adaptiveSearch(axes, onDeviceModel)
  assert.equal(grid.evaluated, gridSize(axes))
  assert.ok(grid.bestIndex && adaptive.bestIndex)
  for (let d = 0; d < axes.length; d++) {
    assert.ok(Math.abs((grid.bestIndex[d] as number) - (adaptive.bestIndex[d] as number)) <= 1, `axis ${axes[d]?.name}: grid ${grid.bestIndex[d]} vs adaptive ${adaptive.bestIndex[d]}`)
  }
  assert.ok(adaptive.evaluated <= 0.4 * grid.evaluated, `adaptive measured ${adaptive.evaluated} of ${grid.evaluated} points`)
  // The optimum is an interior cap, not an end of the range (the test would be trivial otherwise).
  const capIdx = grid.bestIndex[1] as number
  assert.ok(capIdx > 0 && capIdx < (axes[1]?.values.length ?? 0) - 1)
})
