import { defineMetric, type MetricDef } from '../define-metric.js'

/**
 * Energy by phase (issue 14): prefill (send → first token) and decode (first → last token), from a fit
 * of the window's power above idle on the requests in each phase (src/core/analysis/energy/phase-attribution.ts).
 */
const method =
  'Non-negative least squares of the fitted meter’s power above idle, span by span, on the mean number of requests in prefill and in decode; phase energy = fitted W per request × request-seconds in the phase. Interval: a moving-block bootstrap, widened to the fits with the request timeline shifted by the readings’ timing uncertainty and with idle at the ends of its interval. When the fit cannot separate the phases (collinear activity, no idle baseline in a closed loop, a coefficient pinned at 0, an interval wider than the estimate) the energy is split by request-seconds and efficiency.phases.modelled is true.'
const total = 'total: the phase’s dynamic energy plus its share (by dynamic energy) of idle and of the fit’s residual, so prefill + decode = the window’s energy at the boundary. dynamic: above the idle baseline only.'
const boundary = 'At the chosen boundary: the fitted meter’s figures scaled by boundary energy ÷ that meter’s energy in the window.'

export const energyPerInputToken = defineMetric({
  id: 'energy_per_input_token',
  title: 'Energy per input token (prefill)',
  kind: 'derived',
  unit: 'J/token',
  better: 'lower',
  summaryPath: 'efficiency.joulesPerInputToken.total',
  requires: ['window_energy'],
  doc: { summary: 'Prefill energy per input token the window prefilled (prompt tokens less cached ones), idle share included.', formula: 'prefill_energy_total / uncached_input_tokens_prefilled_in_window', notes: [method, total, boundary] },
})

export const dynamicEnergyPerInputToken = defineMetric({
  id: 'dynamic_energy_per_input_token',
  title: 'Dynamic energy per input token (prefill)',
  kind: 'derived',
  unit: 'J/token',
  better: 'lower',
  summaryPath: 'efficiency.joulesPerInputToken.dynamic',
  requires: ['window_energy', 'idle_power'],
  doc: { summary: 'Prefill energy above idle per input token prefilled: the marginal energy of a prompt token.', formula: 'prefill_W_per_request × prefill_request_seconds / uncached_input_tokens_prefilled_in_window', notes: [method, boundary] },
})

export const energyPerOutputTokenDecode = defineMetric({
  id: 'energy_per_output_token_decode',
  title: 'Energy per output token (decode)',
  kind: 'derived',
  unit: 'J/token',
  better: 'lower',
  summaryPath: 'efficiency.joulesPerOutputTokenDecode.total',
  requires: ['window_energy'],
  doc: { summary: 'Decode energy per output token after each request’s first (which prefill produces), idle share included.', formula: 'decode_energy_total / decode_tokens_in_window', notes: [method, total, boundary] },
})

export const dynamicEnergyPerOutputTokenDecode = defineMetric({
  id: 'dynamic_energy_per_output_token_decode',
  title: 'Dynamic energy per output token (decode)',
  kind: 'derived',
  unit: 'J/token',
  better: 'lower',
  summaryPath: 'efficiency.joulesPerOutputTokenDecode.dynamic',
  requires: ['window_energy', 'idle_power'],
  doc: { summary: 'Decode energy above idle per decode token: the marginal energy of an output token.', formula: 'decode_W_per_request × decode_request_seconds / decode_tokens_in_window', notes: [method, boundary] },
})

export const prefillEnergyShare = defineMetric({
  id: 'prefill_energy_share',
  title: 'Prefill share of energy',
  kind: 'derived',
  unit: '1',
  better: 'none',
  summaryPath: 'efficiency.phases.prefillEnergyShare',
  requires: ['window_energy'],
  doc: { summary: 'Share of the window’s energy (idle included) that prefill accounts for; decode has the rest.', formula: 'prefill_energy_total / window_energy', notes: [method] },
})

export const prefillTimeShare = defineMetric({
  id: 'prefill_time_share',
  title: 'Prefill share of request time',
  kind: 'derived',
  unit: '1',
  better: 'none',
  summaryPath: 'efficiency.phases.prefillTimeShare',
  doc: { summary: 'Share of the window’s request-seconds spent in prefill (the price sheet splits non-energy cost by it).', formula: 'prefill_request_seconds / (prefill_request_seconds + decode_request_seconds)' },
})

export const PHASE_METRICS: readonly MetricDef[] = [energyPerInputToken, dynamicEnergyPerInputToken, energyPerOutputTokenDecode, dynamicEnergyPerOutputTokenDecode, prefillEnergyShare, prefillTimeShare]
