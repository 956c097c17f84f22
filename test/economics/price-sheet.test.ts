import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { CostResult } from '../../src/core/economics/compute-cost.js'
import { priceSheet } from '../../src/core/economics/price-sheet.js'
import type { RunSummary } from '../../src/core/summary.js'
import { fixtureSummary } from '../../testkit/summary-fixture.js'

const close = (a: number | null | undefined, b: number): void => assert.ok(typeof a === 'number' && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${a} !≈ ${b}`)

// The fixture: 1,000 output tok/s and 3,000 total (so 2,000 input tok/s). Cost: $3/h of electricity and
// $9/h of everything else at 50 % utilisation; prefill took 70 % of the energy and 40 % of request time.
function run(): { s: RunSummary; cost: CostResult } {
  const base = fixtureSummary()
  const s = { ...base, efficiency: { ...(base.efficiency ?? {}), phases: { prefillEnergyShare: 0.7, prefillTimeShare: 0.4, modelled: false } } } as unknown as RunSummary
  const cost = { usdPerHour: { energy: 3, capex: 9 }, usdPerHourTotal: 12, utilization: 0.5 } as unknown as CostResult
  return { s, cost }
}

test('the input and output prices recover the full cost per hour, split by energy and by time (by hand)', () => {
  const { s, cost } = run()
  const p = priceSheet(s, cost, { inputUsdPerMtok: 1, outputUsdPerMtok: 5 })
  assert.ok(p)
  // input side: 0.7 × $3 + 0.4 × $9 = $5.70/h over 2,000 tok/s × 3,600 s × 0.5 = 3.6 Mtok/h
  close(p.inputUsdPerMtok, 5.7 / 3.6)
  // output side: 0.3 × $3 + 0.6 × $9 = $6.30/h over 1.8 Mtok/h
  close(p.outputUsdPerMtok, 6.3 / 1.8)
  // and together they recover the $12/h exactly
  close(p.inputUsdPerMtok * 3.6 + p.outputUsdPerMtok * 1.8, 12)
  close(p.current.inputMarginUsdPerMtok, 1 - 5.7 / 3.6)
  close(p.current.revenueUsdPerHour, 1 * 3.6 + 5 * 1.8)
  close(p.current.marginUsdPerHour, 12.6 - 12)
})

test('no price sheet without phase figures or without a complete cost', () => {
  const { s, cost } = run()
  assert.equal(priceSheet(fixtureSummary(), cost), null)
  assert.equal(priceSheet(s, { ...cost, usdPerHourTotal: null }), null)
  assert.equal(priceSheet(s, null), null)
})
