import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Command } from 'commander'
import { addCostOptions, costOptionsToConfig, mergeCostConfig } from '../../src/cli/cost-options.js'
import { CostSchema } from '../../src/core/config/cost-schema.js'

const parse = (argv: string[]): Record<string, unknown> => {
  const cmd = addCostOptions(new Command('x').exitOverride().configureOutput({ writeErr: () => {} }))
  cmd.parse(argv, { from: 'user' })
  return cmd.opts()
}

test('cost flags become a cost: section the schema accepts', () => {
  const cfg = costOptionsToConfig(parse(['--accelerators', '8', '--preset', 'h200', '--usd-per-accelerator-hour', '2.5', '--usd-per-kwh', '0.07', '--pue', '1.2', '--utilization', '0.6']))
  assert.deepEqual(cfg, { accelerators: 8, preset: 'h200', mode: 'rent', rent: { usdPerAcceleratorHour: 2.5 }, usdPerKwh: 0.07, pue: 1.2, utilization: 0.6 })
  assert.equal(CostSchema.safeParse(cfg).success, true)
  assert.equal(costOptionsToConfig(parse([])), undefined)
})

test('bad cost flags are usage errors', () => {
  assert.throws(() => parse(['--pue', 'high']), /--pue must be a number/)
  assert.throws(() => parse(['--preset', 'tpu9']), /Allowed choices are h100, h200, b200, gb200, mi300x, mi355x/)
})

test('flags merge over a config file section, nested objects included', () => {
  const merged = mergeCostConfig({ preset: 'h100', rent: { energyIncluded: false }, own: { costOfCapital: 0.1 } }, { rent: { usdPerAcceleratorHour: 2 }, pue: 1.1 })
  assert.deepEqual(merged, { preset: 'h100', rent: { energyIncluded: false, usdPerAcceleratorHour: 2 }, own: { costOfCapital: 0.1 }, pue: 1.1 })
  assert.deepEqual(mergeCostConfig({ a: 1 }, undefined), { a: 1 })
})
