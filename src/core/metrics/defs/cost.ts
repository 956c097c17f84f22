import { defineMetric, type MetricDef } from '../define-metric.js'

const model = 'From the cost model (cost: section or cost flags); every input it used is listed in cost.assumptions with its source.'
const perToken = 'cost_per_hour ÷ (tokens per second × 3600 × utilization) × 1e6'
const facility = 'Electricity is priced on facility-boundary energy: a facility meter or model when the run has one, else the highest measured boundary × PUE.'

export const costPerMillionOutputTokens = defineMetric({
  id: 'cost_per_million_output_tokens',
  title: 'Cost per million output tokens',
  kind: 'derived',
  unit: 'USD/Mtok',
  better: 'lower',
  summaryPath: 'cost.usdPerMillionOutputTokens',
  requires: ['output_token_throughput', 'cost_per_hour'],
  doc: {
    summary: 'What a million generated tokens cost at the measured throughput, with all cost charged to output tokens (the InferenceX convention).',
    formula: `${perToken}, with output tokens/s`,
    notes: [model, facility, 'InferenceX: $/Mtok = $/GPU-hr × 1e6 / (3600 × tok/s/GPU).'],
  },
})

export const costPerMillionInputTokens = defineMetric({
  id: 'cost_per_million_input_tokens',
  title: 'Cost per million input tokens',
  kind: 'derived',
  unit: 'USD/Mtok',
  better: 'lower',
  summaryPath: 'cost.usdPerMillionInputTokens',
  requires: ['total_token_throughput', 'cost_per_hour'],
  doc: { summary: 'Cost per million prompt tokens with all cost charged to input tokens.', formula: `${perToken}, with (total − output) tokens/s`, notes: [model] },
})

export const costPerMillionTokens = defineMetric({
  id: 'cost_per_million_tokens',
  title: 'Cost per million tokens (input + output)',
  kind: 'derived',
  unit: 'USD/Mtok',
  better: 'lower',
  summaryPath: 'cost.usdPerMillionTokensBlended',
  requires: ['total_token_throughput', 'cost_per_hour'],
  doc: {
    summary: 'Cost per million tokens processed, input and output alike.',
    formula: `${perToken}, with total tokens/s`,
    notes: [model, 'cost.breakEven splits cost into an input and an output price at cost.inputOutputPriceRatio.'],
  },
})

export const costPerMillionGoodOutputTokens = defineMetric({
  id: 'cost_per_million_good_output_tokens',
  title: 'Cost per million good output tokens',
  kind: 'derived',
  unit: 'USD/Mtok',
  better: 'lower',
  summaryPath: 'cost.usdPerMillionGoodOutputTokens',
  requires: ['good_output_token_throughput', 'cost_per_hour'],
  doc: { summary: 'Cost per million output tokens of requests that met the SLO: tokens that missed it earn nothing.', formula: `${perToken}, with good output tokens/s`, notes: [model] },
})

export const costPerHour = defineMetric({
  id: 'cost_per_hour',
  title: 'Cost per hour',
  kind: 'aggregate',
  unit: 'USD/h',
  better: 'lower',
  summaryPath: 'cost.usdPerHourTotal',
  doc: {
    summary: 'Cost of the deployment that served the run, per wall-clock hour, all components.',
    formula: 'rent + capex × CRF/8760 + network & storage + facility capex × CRF/8760 + colocation + maintenance + software + energy',
    notes: [model, 'CRF = r(1+r)^n / ((1+r)^n − 1), the capital recovery factor at cost of capital r over n years.', 'cost.usdPerHour has each component.'],
  },
})

export const costPerAcceleratorHour = defineMetric({
  id: 'cost_per_accelerator_hour',
  title: 'Cost per accelerator-hour',
  kind: 'derived',
  unit: 'USD/h',
  better: 'lower',
  summaryPath: 'cost.usdPerAcceleratorHour',
  requires: ['cost_per_hour'],
  doc: { summary: 'All-in cost per accelerator per hour: comparable with rental prices.', formula: 'cost_per_hour / accelerators', notes: [model] },
})

export const outputTokensPerAccelerator = defineMetric({
  id: 'output_tokens_per_s_per_accelerator',
  title: 'Output tokens/s per accelerator',
  kind: 'derived',
  unit: 'tokens/s',
  better: 'higher',
  summaryPath: 'cost.tokensPerAcceleratorPerS.output',
  requires: ['output_token_throughput'],
  doc: { summary: 'Output throughput divided by the accelerators serving it (cost.accelerators).', formula: 'output_token_throughput / accelerators' },
})

export const outputPerProvisionedFacilityMw = defineMetric({
  id: 'output_tokens_per_s_per_provisioned_facility_mw',
  title: 'Output tokens/s per provisioned facility MW',
  kind: 'derived',
  unit: 'tokens/s/MW',
  better: 'higher',
  summaryPath: 'cost.tokensPerSPerMW.outputPerProvisionedFacilityMW',
  requires: ['output_token_throughput'],
  doc: {
    summary: 'Throughput per MW of utility power provisioned for the deployment (the InferenceX "all-in provisioned MW" view).',
    formula: 'output_token_throughput / (accelerators × all-in provisioned kW per accelerator × PUE / 1000)',
    notes: ['All-in provisioned kW per accelerator comes from the preset (with source) or cost.provisionedKwPerAccelerator.'],
  },
})

export const outputPerMeasuredFacilityMw = defineMetric({
  id: 'output_tokens_per_s_per_measured_facility_mw',
  title: 'Output tokens/s per measured facility MW',
  kind: 'derived',
  unit: 'tokens/s/MW',
  better: 'higher',
  summaryPath: 'cost.tokensPerSPerMW.outputPerMeasuredFacilityMW',
  requires: ['output_token_throughput'],
  doc: { summary: 'Throughput per MW of average facility-boundary power while serving.', formula: 'output_token_throughput / (facility average W / 1e6)', notes: [facility] },
})

export const revenuePerProvisionedMwh = defineMetric({
  id: 'revenue_per_provisioned_mwh',
  title: 'Revenue per provisioned MW-hour',
  kind: 'derived',
  unit: 'USD/MWh',
  better: 'higher',
  summaryPath: 'cost.revenue.usdPerMWhProvisioned',
  requires: ['output_token_throughput'],
  doc: {
    summary: 'Token revenue per hour per MW of provisioned facility power, at the price in cost.price.',
    formula: '3600 × utilization × (output tok/s × $/Mtok out + input tok/s × $/Mtok in) / 1e6 / provisioned facility MW',
  },
})

/** Typed as plain definitions so the registry's element type stays uniform (optional requires/notes). */
export const COST_METRICS: readonly MetricDef[] = [
  costPerMillionOutputTokens,
  costPerMillionInputTokens,
  costPerMillionTokens,
  costPerMillionGoodOutputTokens,
  costPerHour,
  costPerAcceleratorHour,
  outputTokensPerAccelerator,
  outputPerProvisionedFacilityMw,
  outputPerMeasuredFacilityMw,
  revenuePerProvisionedMwh,
]
