import { z } from 'zod'

/**
 * The `cost:` section (issue 5): what it costs to serve the measured throughput, owned or rented.
 * Every value a preset fills can be overridden here; every default that is an assumption (PUE,
 * electricity price, depreciation life, cost of capital, the input:output price ratio) is printed
 * with its source in the result's `cost.assumptions`, so finance can see and change it.
 *
 * @example
 * ```yaml
 * cost:
 *   preset: h100          # nameplate/all-in power and typical prices, each with its public source
 *   accelerators: 8       # accelerators behind the endpoint during the run
 *   mode: own
 *   own: { serverCapexUsdPerAccelerator: 33750, costOfCapital: 0.09, colocationUsdPerKwMonth: 180 }
 *   usdPerKwh: 0.07
 *   pue: 1.25
 *   utilization: 0.6      # share of hours serving at the measured throughput; idle power the rest
 *   price: { usdPerMillionOutputTokens: 2.0, usdPerMillionInputTokens: 0.5 }
 * ```
 */
export const PRESET_IDS = ['h100', 'h200', 'b200', 'gb200', 'mi300x', 'mi355x'] as const
export type PresetId = (typeof PRESET_IDS)[number]

const nonNeg = z.number().nonnegative()
const share = z.number().min(0).max(1)

export const OwnCostSchema = z.strictObject({
  serverCapexUsdPerAccelerator: nonNeg.optional().describe('Server capex (accelerators + host + chassis) per accelerator, USD.'),
  networkStorageShare: share.optional().describe('Network and storage capex as a share of server capex (0.1 = +10 %).'),
  networkStorageUsdPerAccelerator: nonNeg.optional().describe('Or as USD per accelerator (added to the share).'),
  facilityCapexUsdPerKw: nonNeg.optional().describe('Facility (power, cooling, shell) capex per kW of provisioned IT power, USD/kW.'),
  depreciationYears: z.number().positive().max(50).optional().describe('Depreciation life of the IT equipment, years.'),
  facilityLifeYears: z.number().positive().max(60).optional().describe('Depreciation life of the facility, years.'),
  costOfCapital: z.number().min(0).max(1).optional().describe('Annual cost of capital (0.08 = 8 %/yr), used in the capital recovery factor.'),
  maintenanceSharePerYear: share.optional().describe('Maintenance and support per year as a share of IT capex (0.03 = 3 %/yr).'),
  softwareUsdPerAcceleratorYear: nonNeg.optional().describe('Software licences per accelerator-year, USD.'),
  colocationUsdPerKwMonth: nonNeg.optional().describe('Colocation rent per kW of provisioned IT power per month, USD.'),
})

export const RentCostSchema = z.strictObject({
  usdPerAcceleratorHour: nonNeg.optional().describe('Rental price per accelerator-hour, USD. Absent: the preset\'s price for `tier`.'),
  energyIncluded: z.boolean().optional().describe('Whether the rental price includes electricity (usual for cloud); when false, energy is added.'),
  tier: z.enum(['market', 'owner-tco']).optional().describe('Which preset price to use: market rental, or the owner\'s all-in TCO per accelerator-hour.'),
})

export const PriceSchema = z.strictObject({
  usdPerMillionOutputTokens: nonNeg.optional().describe('Selling price per million output tokens, USD (for revenue and margin).'),
  usdPerMillionInputTokens: nonNeg.optional().describe('Selling price per million input tokens, USD.'),
})

export const CostSchema = z.strictObject({
  preset: z.enum(PRESET_IDS).optional().describe('Accelerator preset: power figures and typical prices with sources; any value can be overridden.'),
  accelerators: z.number().int().positive().optional().describe('Accelerators serving the endpoint during the run (throughput is divided by this).'),
  mode: z.enum(['own', 'rent']).optional().describe('own: capex + opex; rent: $/accelerator-hour. Absent: rent when a rental price is known and no capex is given.'),
  own: OwnCostSchema.optional(),
  rent: RentCostSchema.optional(),
  usdPerKwh: nonNeg.optional().describe('Electricity price at the facility meter, USD/kWh.'),
  pue: z.number().min(1).max(5).optional().describe('Facility overhead multiplier applied when no facility-level power was measured or modelled.'),
  utilization: z.number().gt(0).max(1).optional().describe('Share of wall-clock hours the deployment serves at the measured throughput (idle the rest).'),
  idleWPerAccelerator: nonNeg.optional().describe('Idle power per accelerator at the boundary of the power used (W), when the run measured none.'),
  provisionedKwPerAccelerator: z.number().positive().optional().describe('All-in provisioned IT power per accelerator (chip + its share of host, NICs, switches), kW.'),
  nameplateWPerAccelerator: z.number().positive().optional().describe('Accelerator nameplate (TDP), W.'),
  inputOutputPriceRatio: z.number().min(0).max(10).optional().describe('Input price ÷ output price, for the break-even price pair.'),
  price: PriceSchema.optional(),
})
export type CostConfigInput = z.input<typeof CostSchema>
export type CostConfig = z.output<typeof CostSchema>
