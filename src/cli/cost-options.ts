import { InvalidArgumentError, Option, type Command } from 'commander'
import { PRESET_IDS } from '../core/config/cost-schema.js'

/** The cost flags as commander hands them over. */
export interface CostOptions {
  readonly accelerators?: number
  readonly preset?: string
  readonly usdPerAcceleratorHour?: number
  readonly usdPerKwh?: number
  readonly pue?: number
  readonly utilization?: number
}

const number = (what: string) => (text: string): number => {
  const v = Number(text)
  if (text.trim() === '' || !Number.isFinite(v)) throw new InvalidArgumentError(`${what} must be a number, got "${text}"`)
  return v
}

/**
 * Adds the flags for the common cost cases to `bench`, `demo` and `report`. Anything beyond them
 * (capex, colocation, software, prices) goes in the `cost:` config section.
 *
 * @example
 * addCostOptions(new Command('report')) // --accelerators 8 --preset h100 --usd-per-kwh 0.07 …
 */
export function addCostOptions(cmd: Command): Command {
  // bench already has --pue (the energy attribution's facility level); the cost model reads the same value.
  const hasPue = cmd.options.some((o) => o.long === '--pue')
  cmd
    .addOption(new Option('--accelerators <n>', 'accelerators serving the endpoint (throughput is divided by this)').argParser(number('--accelerators')))
    .addOption(new Option('--preset <name>', 'accelerator preset: power and typical prices, each with its source').choices(PRESET_IDS))
    .addOption(new Option('--usd-per-accelerator-hour <usd>', 'rental price per accelerator-hour (energy included)').argParser(number('--usd-per-accelerator-hour')))
    .addOption(new Option('--usd-per-kwh <usd>', 'electricity price at the facility meter').argParser(number('--usd-per-kwh')))
  if (!hasPue) cmd.addOption(new Option('--pue <ratio>', 'facility overhead when no facility-level power was measured').argParser(number('--pue')))
  return cmd.addOption(new Option('--utilization <share>', 'share of hours serving at the measured throughput (0–1]').argParser(number('--utilization')))
}

/**
 * Turns the cost flags into a partial `cost:` section (plain data, merged over the config file and
 * validated once by the schema), or undefined when no cost flag was given.
 */
export function costOptionsToConfig(opts: CostOptions): unknown {
  const out: Record<string, unknown> = {}
  if (opts.accelerators !== undefined) out.accelerators = opts.accelerators
  if (opts.preset !== undefined) out.preset = opts.preset
  // A rental price on the command line means "price it as rented", even over a stored own-mode section.
  if (opts.usdPerAcceleratorHour !== undefined) {
    out.mode = 'rent'
    out.rent = { usdPerAcceleratorHour: opts.usdPerAcceleratorHour }
  }
  if (opts.usdPerKwh !== undefined) out.usdPerKwh = opts.usdPerKwh
  if (opts.pue !== undefined) out.pue = opts.pue
  if (opts.utilization !== undefined) out.utilization = opts.utilization
  return Object.keys(out).length > 0 ? out : undefined
}

/** Deep-merges flag values over a config file's `cost:` section (flags win), as plain data. */
export function mergeCostConfig(fromFile: unknown, fromFlags: unknown): unknown {
  if (fromFlags === undefined) return fromFile
  if (fromFile === undefined || fromFile === null || typeof fromFile !== 'object') return fromFlags
  const merged: Record<string, unknown> = { ...(fromFile as Record<string, unknown>) }
  for (const [k, v] of Object.entries(fromFlags as Record<string, unknown>)) {
    const prev = merged[k]
    merged[k] = v !== null && typeof v === 'object' && prev !== null && typeof prev === 'object' ? { ...(prev), ...(v) } : v
  }
  return merged
}
