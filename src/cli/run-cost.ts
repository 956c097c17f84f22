import { z } from 'zod'
import { CostSchema, type CostConfig } from '../core/config/cost-schema.js'
import { ConfigError } from '../core/errors.js'
import type { RunSummary } from '../core/summary.js'
import { costOptionsToConfig, mergeCostConfig, type CostOptions } from './cost-options.js'

/** The `cost:` section a run was benchmarked with, if its stored config has one. */
export function storedCostConfig(summary: RunSummary): unknown {
  const config = summary.config
  return config !== null && typeof config === 'object' && 'cost' in config ? (config as { cost?: unknown }).cost : undefined
}

/**
 * The cost config to price a stored run with at report/compare/verify/plan time: the cost flags over
 * the run's own `cost:` section, validated once. Undefined when neither exists (the run's stored
 * cost section, if any, is then used as is).
 */
export function costConfigFor(summary: RunSummary, opts: CostOptions, extra?: unknown): CostConfig | undefined {
  const flags = mergeCostConfig(costOptionsToConfig(opts), extra)
  if (flags === undefined) return undefined
  const merged = mergeCostConfig(storedCostConfig(summary), flags)
  const parsed = CostSchema.safeParse(merged)
  if (!parsed.success) throw new ConfigError(`cost: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`, { hint: 'see `tokenwatt report --help` for the cost flags; the rest goes in the cost: config section' })
  return parsed.data
}
