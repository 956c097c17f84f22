import { defineMetric, type MetricDef } from '../define-metric.js'

/**
 * Power and efficiency metrics (issue 4). Every figure is at `power.boundary` / `efficiency.boundary`
 * (device ⊂ node ⊂ rack ⊂ cluster ⊂ facility, chosen with --boundary), carries which parts were measured and
 * which modelled (`measured`, `modeled`), and an interval (`power.interval`, `efficiency.intervals`).
 * `efficiency.byBoundary` repeats the per-token figures at every boundary that could be computed.
 */
const boundary = 'At the chosen boundary: measured by a meter there, or modelled from the boundary below with the attribution assumptions listed in power.levels[].assumptions.'
const energyMethod =
  'Per meter: the energy counter difference across the window (wraps at the counter modulus and resets handled) where the source has a counter, else the trapezoid integral of power readings moved back by half the source averaging window, with the power at each window edge interpolated.'
const interval = 'The interval combines the meters’ accuracy, sampling (half the spread of left and right Riemann sums, or the counter’s edge brackets), resolution and gaps, and every attribution assumption at its range ends.'

export const windowEnergy = defineMetric({
  id: 'window_energy',
  title: 'Energy in window',
  kind: 'aggregate',
  unit: 'J',
  better: 'none',
  summaryPath: 'power.energyJ',
  requires: ['window_duration'],
  doc: {
    summary: 'Energy drawn inside the steady window at the chosen boundary.',
    formula: 'sum over non-overlapping meters/channels of energy(window) [measured] | level below × attribution factors [modelled]',
    notes: [energyMethod, boundary, 'Meters reading the same thing (one GPU UUID through NVML and nvidia-smi, two BMC paths to one chassis) count once: the best one is used, the others cross-check it. Nested channels (a RAPL subzone in its package, an outlet in its inlet) are never added to their parent.', 'Meters labelled with different `node`s or `rack`s read different equipment and add up (per node, per rack); the `cluster` boundary is every node and rack of the run, each counted once (measured by a meter at `cluster`, else the rack level); `coverage.expectNodes`/`expectDevices` make the figure null when any is missing from the telemetry.', interval],
  },
})

export const averagePower = defineMetric({
  id: 'average_power',
  title: 'Average power',
  kind: 'derived',
  unit: 'W',
  better: 'none',
  summaryPath: 'power.avgW',
  requires: ['window_energy', 'window_duration'],
  doc: { summary: 'Mean power drawn over the steady window at the chosen boundary.', formula: 'window_energy / window_duration', notes: [boundary] },
})

export const powerCoverage = defineMetric({
  id: 'power_coverage',
  title: 'Power reading coverage',
  kind: 'aggregate',
  unit: '1',
  better: 'higher',
  summaryPath: 'power.coverage',
  doc: {
    summary: 'Share of the window covered by meter readings (the least-covered meter that counts).',
    formula: '1 − (gaps longer than 2.5 sampling periods + unbracketed edges + counter-reset gaps) / window_duration',
    notes: ['Counter meters keep full coverage through slow polling (the difference is exact); gaps matter for power gauges. Below 95 % the run warns.'],
  },
})

export const idlePower = defineMetric({
  id: 'idle_power',
  title: 'Idle power',
  kind: 'aggregate',
  unit: 'W',
  better: 'lower',
  summaryPath: 'power.idleW',
  doc: {
    summary: 'Mean power at the chosen boundary during the idle baseline measured before the load (--idle-s).',
    formula: 'energy(idle window) / idle window length, through the same meters and attribution as the window',
    notes: ['null without --idle-s.'],
  },
})

export const outputTokensPerJoule = defineMetric({
  id: 'output_tokens_per_joule',
  title: 'Output tokens per joule',
  kind: 'derived',
  unit: 'tokens/J',
  better: 'higher',
  summaryPath: 'efficiency.outputTokensPerJoule',
  requires: ['window_output_tokens', 'window_energy'],
  doc: {
    summary: 'Generated tokens per joule at the chosen boundary; equal to output tokens/s per watt of average draw.',
    formula: 'window_output_tokens / window_energy',
    notes: [boundary, interval],
  },
})

export const totalTokensPerJoule = defineMetric({
  id: 'total_tokens_per_joule',
  title: 'Total tokens per joule',
  kind: 'derived',
  unit: 'tokens/J',
  better: 'higher',
  summaryPath: 'efficiency.totalTokensPerJoule',
  requires: ['window_output_tokens', 'window_input_tokens', 'window_energy'],
  doc: { summary: 'Input plus output tokens per joule at the chosen boundary.', formula: '(window_input_tokens + window_output_tokens) / window_energy', notes: [boundary] },
})

export const joulesPerOutputToken = defineMetric({
  id: 'joules_per_output_token',
  title: 'Energy per output token',
  kind: 'derived',
  unit: 'J/token',
  better: 'lower',
  summaryPath: 'efficiency.joulesPerOutputToken',
  requires: ['window_energy', 'window_output_tokens'],
  doc: {
    summary: 'Energy spent per generated token in the steady window at the chosen boundary (all energy charged to output, as InferenceX and ML.ENERGY do).',
    formula: 'window_energy / window_output_tokens',
    notes: [boundary, 'efficiency.interval is this figure’s interval.', interval],
  },
})

export const joulesPerToken = defineMetric({
  id: 'joules_per_token',
  title: 'Energy per token',
  kind: 'derived',
  unit: 'J/token',
  better: 'lower',
  summaryPath: 'efficiency.joulesPerToken',
  requires: ['window_energy', 'window_output_tokens', 'window_input_tokens'],
  doc: { summary: 'Energy per processed token (input + output) at the chosen boundary.', formula: 'window_energy / (window_input_tokens + window_output_tokens)', notes: [boundary] },
})

export const outputTokensPerSPerMW = defineMetric({
  id: 'output_tokens_per_s_per_mw',
  title: 'Output tokens/s per MW (measured draw)',
  kind: 'derived',
  unit: 'tokens/s/MW',
  better: 'higher',
  summaryPath: 'efficiency.outputTokensPerSPerMW',
  requires: ['output_token_throughput', 'average_power'],
  doc: {
    summary: 'Output throughput per megawatt of measured average draw at the chosen boundary.',
    formula: 'output_token_throughput / (average_power / 1e6) = output_tokens_per_joule × 1e6',
    notes: [boundary, 'Against draw, not provisioned power: see output_tokens_per_s_per_provisioned_mw for the InferenceX-style figure.'],
  },
})

export const provisionedPower = defineMetric({
  id: 'provisioned_power',
  title: 'Provisioned power',
  kind: 'aggregate',
  unit: 'W',
  better: 'none',
  summaryPath: 'efficiency.provisionedW',
  doc: {
    summary: 'Power reserved for the equipment at the chosen boundary: the nameplate or cap, not the draw.',
    formula: 'attribution.provisioned at that boundary | devices × per-device W (config, else the enforced power caps the meters read) carried up with the attribution model',
    notes: ['efficiency.provisionedSource says which.'],
  },
})

export const outputTokensPerSPerProvisionedMW = defineMetric({
  id: 'output_tokens_per_s_per_provisioned_mw',
  title: 'Output tokens/s per provisioned MW',
  kind: 'derived',
  unit: 'tokens/s/MW',
  better: 'higher',
  summaryPath: 'efficiency.outputTokensPerSPerProvisionedMW',
  requires: ['output_token_throughput', 'provisioned_power'],
  doc: {
    summary: 'Output throughput per megawatt of provisioned power: how many tokens a site of a given capacity delivers at this operating point.',
    formula: 'output_token_throughput / (provisioned_power / 1e6)',
    notes: ['InferenceX reports tokens/s per all-in provisioned MW (GPU + host share + network + facility overhead) from fixed per-GPU constants; here the provisioned figure is at the boundary you pick and its source is printed.'],
  },
})

export const idleEnergyShare = defineMetric({
  id: 'idle_energy_share',
  title: 'Idle share of energy',
  kind: 'derived',
  unit: '1',
  better: 'lower',
  summaryPath: 'efficiency.idleShare',
  requires: ['idle_power', 'window_energy', 'window_duration'],
  doc: { summary: 'Share of the window’s energy the equipment would have drawn idle.', formula: 'idle_power × window_duration / window_energy', notes: ['null without --idle-s.'] },
})

export const dynamicEnergyShare = defineMetric({
  id: 'dynamic_energy_share',
  title: 'Dynamic share of energy',
  kind: 'derived',
  unit: '1',
  better: 'none',
  summaryPath: 'efficiency.dynamicShare',
  requires: ['idle_energy_share'],
  doc: { summary: 'Share of the window’s energy above the idle baseline: what the load itself cost.', formula: '1 − idle_energy_share' },
})

export const dynamicJoulesPerOutputToken = defineMetric({
  id: 'dynamic_joules_per_output_token',
  title: 'Dynamic energy per output token',
  kind: 'derived',
  unit: 'J/token',
  better: 'lower',
  summaryPath: 'efficiency.dynamicJoulesPerOutputToken',
  requires: ['window_energy', 'idle_power', 'window_output_tokens'],
  doc: {
    summary: 'Energy above the idle baseline per generated token: the marginal energy of serving.',
    formula: '(window_energy − idle_power × window_duration) / window_output_tokens',
    notes: ['null without --idle-s.'],
  },
})

export const ENERGY_METRICS: readonly MetricDef[] = [
  windowEnergy,
  averagePower,
  powerCoverage,
  idlePower,
  outputTokensPerJoule,
  totalTokensPerJoule,
  joulesPerOutputToken,
  joulesPerToken,
  outputTokensPerSPerMW,
  provisionedPower,
  outputTokensPerSPerProvisionedMW,
  idleEnergyShare,
  dynamicEnergyShare,
  dynamicJoulesPerOutputToken,
]
