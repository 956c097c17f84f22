import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CostSchema } from '../../src/core/config/cost-schema.js'
import { planSite } from '../../src/core/economics/site-plan.js'
import { ConfigError } from '../../src/core/errors.js'
import { fixtureSummary } from '../../testkit/summary-fixture.js'

const close = (a: number | null | undefined, b: number, rel = 1e-9): void => assert.ok(typeof a === 'number' && Math.abs(a - b) <= Math.abs(b) * rel, `${a} !≈ ${b}`)

// The fixture run: 1,000 output tok/s, 3,000 total tok/s, served by 8 accelerators here.
const cost = CostSchema.parse({ preset: 'h100', accelerators: 8, pue: 1.3, utilization: 0.6, rent: { usdPerAcceleratorHour: 2 }, price: { usdPerMillionOutputTokens: 4 } })

test('site plan: whole racks that fit the facility power, tokens and money per day (by hand)', () => {
  const p = planSite({ summary: fixtureSummary(), cost, siteMw: 20 })
  const kw = 1.37 * 1.3 // H100 all-in 1.37 kW × PUE 1.3
  const rackKw = 32 * kw // preset: four 8-GPU servers per rack
  const racks = Math.floor(20_000 / rackKw) // 350
  assert.equal(p.baseline.racks, racks)
  assert.equal(p.baseline.accelerators, racks * 32)
  close(p.baseline.facilityKwPerAccelerator, kw)
  close(p.baseline.rackKw, rackKw)
  close(p.baseline.siteUsed, (racks * rackKw) / 20_000)
  const perAcc = 1000 / 8
  close(p.outputTokensPerSPerAccelerator, perAcc)
  close(p.baseline.outputTokensPerDay, racks * 32 * perAcc * 86_400 * 0.6)
  close(p.baseline.costUsdPerDay, 2 * racks * 32 * 24)
  // revenue: output tokens only, at $4/M, while serving (60 % of hours)
  close(p.baseline.revenueUsdPerDay, (racks * 32 * perAcc * 3600 * 0.6 * 4) / 1e6 * 24)
  close(p.baseline.usdPerMillionOutputTokens, (2 * 1e6) / (perAcc * 3600 * 0.6))
  // the run's node power (1,000 W for 8 accelerators) × PUE, scaled to the fleet, idle hours at 400 W × PUE
  close(p.baseline.averageDrawMw, ((0.6 * 1300 + 0.4 * 520) / 8) * racks * 32 / 1e6)
})

test('what-ifs: PUE, power cap and utilisation move the right figures', () => {
  const p = planSite({ summary: fixtureSummary(), cost, siteMw: 20, whatIf: { pue: [1.1], powerCapW: [500], utilization: [0.9] } })
  const [pue, cap, util] = p.whatIf
  close(pue?.facilityKwPerAccelerator, 1.37 * 1.1)
  assert.ok((pue?.accelerators ?? 0) > p.baseline.accelerators)
  // cap 500 W replaces the 700 W nameplate share of the all-in figure
  close(cap?.facilityKwPerAccelerator, (1.37 - 0.7 + 0.5) * 1.3)
  assert.ok(p.warnings.some((w) => w.includes('power cap changes provisioned power only')))
  assert.equal(util?.accelerators, p.baseline.accelerators)
  close(util?.outputTokensPerDay, (p.baseline.outputTokensPerDay / 0.6) * 0.9)
  close(util?.usdPerMillionOutputTokens, ((p.baseline.usdPerMillionOutputTokens ?? 0) * 0.6) / 0.9)
})

test('without racks or provisioned power', () => {
  const perAcc = planSite({ summary: fixtureSummary(), cost, siteMw: 1, acceleratorsPerRack: 72 })
  assert.equal(perAcc.baseline.racks, Math.floor(1000 / (72 * 1.37 * 1.3)))
  assert.throws(() => planSite({ summary: fixtureSummary(), cost: CostSchema.parse({ accelerators: 8 }), siteMw: 5 }), (e: unknown) => e instanceof ConfigError && /provisioned power/.test(e.message))
  const tiny = planSite({ summary: fixtureSummary(), cost, siteMw: 0.01 })
  assert.equal(tiny.baseline.accelerators, 0)
  assert.ok(tiny.warnings.some((w) => w.includes('smaller than one rack')))
})

test('session runs: tasks and good tasks per day, and $ per task, from the run\'s task rates (by hand)', () => {
  const base = fixtureSummary()
  const tasks = { tasksPerS: 4, slo: { turnSlo: true, taskLatencyMs: 60_000, attainment: 0.75, goodTasksPerS: 3, goodTasksPerSPerMW: null } }
  const p = planSite({ summary: { ...base, tasks: tasks as unknown as NonNullable<typeof base.tasks> }, cost, siteMw: 20 })
  const acc = p.baseline.accelerators
  close(p.baseline.tasksPerDay, acc * (4 / 8) * 86_400 * 0.6)
  close(p.baseline.goodTasksPerDay, acc * (3 / 8) * 86_400 * 0.6)
  // $2 per accelerator-hour; each accelerator completes 0.5 tasks/s while serving (60 % of hours)
  close(p.baseline.usdPerTask, (2 * 24) / (0.5 * 86_400 * 0.6))
  const plain = planSite({ summary: base, cost, siteMw: 20 })
  assert.equal(plain.baseline.tasksPerDay, null)
  assert.equal(plain.baseline.usdPerTask, null)
})

test('runs with energy by phase: each scenario\'s break-even input and output prices recover its cost per day, and revenue per site MW', () => {
  const base = fixtureSummary()
  const summary = { ...base, efficiency: { ...(base.efficiency ?? {}), phases: { prefillEnergyShare: 0.6, prefillTimeShare: 0.3, modelled: false } } } as unknown as typeof base
  const p = planSite({ summary, cost, siteMw: 20, whatIf: { utilization: [0.9] } })
  for (const s of [p.baseline, ...p.whatIf]) {
    assert.ok(s.breakEvenUsdPerMtok)
    // 1,000 output and 2,000 input tok/s over 8 accelerators, served this scenario's share of hours
    const outPerDay = (s.accelerators * 1000 * 86_400 * s.utilization) / 8
    const inPerDay = 2 * outPerDay
    close((s.breakEvenUsdPerMtok.input * inPerDay + s.breakEvenUsdPerMtok.output * outPerDay) / 1e6, s.costUsdPerDay as number, 1e-9)
    close(s.revenueUsdPerSiteMwDay, (s.revenueUsdPerDay as number) / 20)
  }
  assert.equal(planSite({ summary: base, cost, siteMw: 20 }).baseline.breakEvenUsdPerMtok, null)
})
