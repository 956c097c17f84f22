import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CostSchema } from '../../src/core/config/cost-schema.js'
import { capitalRecoveryFactor } from '../../src/core/economics/capital-recovery.js'
import { computeCost } from '../../src/core/economics/compute-cost.js'
import { PRESETS } from '../../src/core/economics/presets.js'
import { fixtureSummary } from '../../testkit/summary-fixture.js'

const close = (actual: number | null | undefined, expected: number, rel = 1e-9): void => {
  assert.ok(typeof actual === 'number', `expected a number, got ${actual}`)
  assert.ok(Math.abs(actual - expected) <= Math.abs(expected) * rel + 1e-12, `${actual} !≈ ${expected}`)
}
const cfg = (input: unknown) => CostSchema.parse(input)

test('capital recovery factor matches the annuity formula worked by hand', () => {
  // r = 8 %, n = 4: 1.08^4 = 1.36048896; 0.08 × 1.36048896 / 0.36048896
  close(capitalRecoveryFactor(0.08, 4), (0.08 * 1.36048896) / 0.36048896)
  close(capitalRecoveryFactor(0.08, 4), 0.301920804, 1e-8)
  // r = 10 %, n = 5: 0.1 × 1.61051 / 0.61051 = 0.263797481
  close(capitalRecoveryFactor(0.1, 5), 0.263797481, 1e-8)
  assert.equal(capitalRecoveryFactor(0, 4), 0.25)
  assert.throws(() => capitalRecoveryFactor(0.05, 0), RangeError)
})

test('InferenceX $/Mtok = $/GPU-hr × 1e6 / (3600 × tok/s/GPU): GB200 PR #391 figures at $2.21/GPU-hr', () => {
  // tok/s/GPU → published $/M tokens (InferenceX-app PR #391); the last one the post rounds to $0.10.
  const published: readonly (readonly [number, number, number])[] = [
    [32.8, 18.72, 0.005],
    [1613.8, 0.38, 0.005],
    [2004.5, 0.31, 0.005],
    [3148.0, 0.2, 0.005],
    [5336.2, 0.115, 0.0005],
  ]
  for (const [tokPerGpu, usd, tolerance] of published) {
    const gpus = 72
    const summary = fixtureSummary({ throughput: { outputTokensPerS: tokPerGpu * gpus, totalTokensPerS: tokPerGpu * gpus * 9, requestsPerS: 1 } })
    const { cost, warnings } = computeCost(cfg({ accelerators: gpus, mode: 'rent', rent: { usdPerAcceleratorHour: 2.21 } }), summary)
    assert.ok(Math.abs((cost.usdPerMillionOutputTokens ?? NaN) - usd) <= tolerance, `${tokPerGpu} tok/s/GPU: ${cost.usdPerMillionOutputTokens} vs ${usd}`)
    close(cost.usdPerMillionOutputTokens, (2.21 * 1e6) / (3600 * tokPerGpu))
    assert.deepEqual(Object.keys(cost.usdPerHour), ['rent'], 'rental includes energy by default')
    assert.equal(cost.energy.included, true)
    assert.deepEqual(warnings, [])
  }
})

test('own mode: every component per hour, worked by hand', () => {
  const { cost } = computeCost(
    cfg({
      accelerators: 8,
      mode: 'own',
      own: {
        serverCapexUsdPerAccelerator: 33_750,
        networkStorageShare: 0.1,
        depreciationYears: 4,
        costOfCapital: 0.08,
        maintenanceSharePerYear: 0.03,
        softwareUsdPerAcceleratorYear: 4500,
        colocationUsdPerKwMonth: 150,
      },
      provisionedKwPerAccelerator: 1.37,
      usdPerKwh: 0.1,
      pue: 1.2,
    }),
    fixtureSummary(),
  )
  const crf = (0.08 * 1.36048896) / 0.36048896
  const expected = {
    capex: (33_750 * 8 * crf) / 8760,
    networkStorage: (3375 * 8 * crf) / 8760,
    maintenance: (0.03 * (33_750 + 3375) * 8) / 8760,
    software: (4500 * 8) / 8760,
    colocation: (150 * 1.37 * 8) / 730,
    energy: ((1000 * 1.2) / 1000) * 0.1, // node 1,000 W × PUE 1.2 = 1.2 kWh each hour × $0.10
  }
  for (const [k, v] of Object.entries(expected)) close(cost.usdPerHour[k as keyof typeof expected], v)
  const total = Object.values(expected).reduce((a, b) => a + b, 0)
  close(cost.usdPerHourTotal, total)
  close(cost.usdPerAcceleratorHour, total / 8)
  close(cost.usdPerMillionOutputTokens, (total * 1e6) / (1000 * 3600))
  close(cost.usdPerMillionInputTokens, (total * 1e6) / (2000 * 3600))
  close(cost.usdPerMillionTokensBlended, (total * 1e6) / (3000 * 3600))
  close(cost.usdPerMillionGoodOutputTokens, (total * 1e6) / (900 * 3600))
  close(cost.usdPerMillionOutputTokensByComponent.energy, (0.12 * 1e6) / 3.6e6)
  // Energy interval ±2 % moves only the electricity share of $/Mtok.
  assert.ok(cost.interval)
  close(cost.interval.low, ((total - 0.12 + 0.12 * 0.98) * 1e6) / 3.6e6)
  close(cost.interval.high, ((total - 0.12 + 0.12 * 1.02) * 1e6) / 3.6e6)
  assert.equal(cost.energy.source, 'scaled-by-pue')
  assert.ok(cost.assumptions.some((a) => a.name === 'pue' && a.value === 1.2 && a.source === 'config'))
})

test('utilisation spreads fixed cost over fewer tokens and prices idle hours at idle power', () => {
  const { cost } = computeCost(cfg({ accelerators: 1, mode: 'rent', rent: { usdPerAcceleratorHour: 2, energyIncluded: false }, usdPerKwh: 0.1, pue: 1.5, utilization: 0.5 }), fixtureSummary())
  // facility serving 1,500 W, idle 400 × 1.5 = 600 W; average 1,050 W → 1.05 kWh/h × $0.10
  close(cost.energy.servingW, 1500)
  close(cost.energy.idleW, 600)
  close(cost.usdPerHour.energy, 0.105)
  close(cost.usdPerHour.rent, 2)
  close(cost.usdPerMillionOutputTokens, (2.105 * 1e6) / (1000 * 3600 * 0.5))
})

test('a facility level from the meters work is used as is; no PUE on top', () => {
  // InferenceX-app power-basis fixture: B200 8 GPUs, 2,798.868 W measured, 6,288.4 W modelled "All in Measured" (PUE 1.3 inside).
  const summary = fixtureSummary({
    power: {
      ...fixtureSummary().power!,
      boundary: 'device',
      avgW: 2798.868,
      idleW: null,
      levels: [
        { boundary: 'device', source: 'measured', avgW: 2798.868, energyJ: 120_361.299, interval: null, assumptions: [] },
        { boundary: 'facility', source: 'modeled', avgW: 6288.4, energyJ: null, interval: null, assumptions: [{ name: 'pue', value: 1.3, unit: 'ratio', source: 'InferenceX' }] },
      ],
    },
  })
  const { cost, warnings } = computeCost(cfg({ accelerators: 8, mode: 'rent', rent: { usdPerAcceleratorHour: 3.7, energyIncluded: false }, usdPerKwh: 0.08, pue: 2 }), summary)
  assert.equal(cost.energy.source, 'modeled')
  close(cost.usdPerHour.energy, 6.2884 * 0.08)
  close(cost.tokensPerSPerMW.outputPerMeasuredFacilityMW, 1000 / 0.0062884)
  assert.ok(!warnings.some((w) => w.includes('PUE')))
})

test('device-only power × PUE is flagged as leaving out the host', () => {
  const summary = fixtureSummary({ power: { ...fixtureSummary().power!, boundary: 'device', levels: [] } })
  const { cost, warnings } = computeCost(cfg({ accelerators: 2, usdPerKwh: 0.1 }), summary)
  assert.equal(cost.mode, 'energy-only')
  close(cost.energy.servingW, 1300) // default PUE 1.3
  assert.ok(warnings.some((w) => w.startsWith('device boundary × PUE')))
  assert.ok(warnings.some((w) => w.includes('electricity only')))
  assert.ok(cost.assumptions.some((a) => a.name === 'pue' && a.source.startsWith('default: ')))
})

test('presets fill price and provisioned power with their sources; config overrides', () => {
  const { cost } = computeCost(cfg({ preset: 'h100', accelerators: 8 }), fixtureSummary())
  assert.equal(cost.mode, 'rent')
  close(cost.usdPerHour.rent, PRESETS.h100.rentUsdPerHour.value * 8)
  close(cost.provisioned.itKw, 1.37 * 8)
  close(cost.provisioned.facilityKw, 1.37 * 8 * 1.3)
  close(cost.tokensPerSPerMW.outputPerProvisionedFacilityMW, 1000 / ((1.37 * 8 * 1.3) / 1000))
  const rent = cost.assumptions.find((a) => a.name === 'usdPerAcceleratorHour')
  assert.match(rent?.source ?? '', /^preset h100: InferenceX-app .*\(2026-07\)$/)
  const over = computeCost(cfg({ preset: 'h100', accelerators: 8, rent: { usdPerAcceleratorHour: 1.5 }, provisionedKwPerAccelerator: 2 }), fixtureSummary()).cost
  close(over.usdPerHour.rent, 12)
  close(over.provisioned.itKw, 16)
  const owner = computeCost(cfg({ preset: 'gb200', accelerators: 72, rent: { tier: 'owner-tco' } }), fixtureSummary()).cost
  close(owner.usdPerHour.rent, 1.86 * 72)
})

test('every preset value carries a source and a date', () => {
  for (const p of Object.values(PRESETS)) {
    for (const v of [p.nameplateW, p.provisionedKw, p.rentUsdPerHour, p.ownerTcoUsdPerHour, p.serverCapexUsdPerAccelerator, p.acceleratorsPerNode, p.acceleratorsPerRack]) {
      if (v === null) continue
      assert.ok(v.value > 0 && v.source.length > 10 && /^\d{4}(-\d{2})?$/.test(v.date), `${p.id}: ${JSON.stringify(v)}`)
    }
  }
})

test('break-even prices recover cost exactly at the chosen input:output ratio', () => {
  const { cost } = computeCost(cfg({ accelerators: 1, rent: { usdPerAcceleratorHour: 3.6 }, inputOutputPriceRatio: 0.2 }), fixtureSummary())
  const { usdPerMillionInputTokens: pin, usdPerMillionOutputTokens: pout } = cost.breakEven
  assert.ok(pin !== null && pout !== null)
  close(pin / pout, 0.2)
  // revenue per hour at those prices = cost per hour ($3.60)
  close((3600 * (2000 * pin + 1000 * pout)) / 1e6, 3.6)
})

test('revenue per MW-hour and margin at a selling price', () => {
  const { cost } = computeCost(
    cfg({ accelerators: 8, rent: { usdPerAcceleratorHour: 2, energyIncluded: false }, usdPerKwh: 0.1, pue: 1.25, provisionedKwPerAccelerator: 1.25, price: { usdPerMillionOutputTokens: 2, usdPerMillionInputTokens: 0.5 } }),
    fixtureSummary(),
  )
  // revenue/h = 3600 × (1000 × $2 + 2000 × $0.5) / 1e6 = $10.80
  assert.ok(cost.revenue)
  close(cost.revenue.usdPerHour, 10.8)
  close(cost.revenue.usdPerMWhProvisioned, 10.8 / ((8 * 1.25 * 1.25) / 1000))
  close(cost.revenue.usdPerMWhConsumed, 10.8 / (1250 / 1e6))
  close(cost.revenue.marginUsdPerHour, 10.8 - (16 + 0.125))
})

test('missing inputs give null figures with warnings, never zero', () => {
  const noPower = fixtureSummary({ power: null, efficiency: null })
  const { cost, warnings } = computeCost(cfg({ accelerators: 4, mode: 'own', own: { depreciationYears: 5 } }), noPower)
  assert.equal(cost.usdPerMillionOutputTokens, null)
  assert.equal(cost.usdPerHourTotal, null)
  assert.ok(warnings.some((w) => w.includes('serverCapexUsdPerAccelerator')))
  assert.ok(warnings.some((w) => w.includes('electricity cannot be priced')))
  const noSlo = computeCost(cfg({ accelerators: 1, rent: { usdPerAcceleratorHour: 1 } }), fixtureSummary({ slo: { attainment: 0, goodputRequestsPerS: 0, goodOutputTokensPerS: 0, passed: false } }))
  assert.equal(noSlo.cost.usdPerMillionGoodOutputTokens, null)
  assert.ok(noSlo.warnings.some((w) => w.includes('no request met the SLO')))
})

test('the cost schema rejects typos and out-of-range values', () => {
  assert.equal(CostSchema.safeParse({ acelerators: 8 }).success, false)
  assert.equal(CostSchema.safeParse({ utilization: 0 }).success, false)
  assert.equal(CostSchema.safeParse({ pue: 0.9 }).success, false)
  assert.equal(CostSchema.safeParse({ preset: 'tpu' }).success, false)
  assert.equal(CostSchema.safeParse({ own: { costOfCapital: 0.08 } }).success, true)
})

test('every cost metric in the registry reads a number from a priced summary', async () => {
  const { COST_METRICS } = await import('../../src/core/metrics/defs/cost.js')
  const { readPath } = await import('../../src/core/metrics/registry.js')
  const { cost } = computeCost(
    cfg({ preset: 'h100', accelerators: 8, rent: { energyIncluded: false }, usdPerKwh: 0.1, price: { usdPerMillionOutputTokens: 2 } }),
    fixtureSummary(),
  )
  const summary = fixtureSummary({ cost })
  for (const m of COST_METRICS) assert.equal(typeof readPath(summary, m.summaryPath), 'number', `${m.id} -> ${m.summaryPath}`)
})
