import { COST_COMPONENT_LABELS, COST_COMPONENTS, type CostResult } from '../economics/compute-cost.js'
import type { CurrentPrices } from '../economics/price-sheet.js'
import { phaseTables } from './phase-view.js'
import { taskHeadline, taskLatencyCdf, taskTables } from './task-view.js'
import type { PowerSample, RequestRecord } from '../records.js'
import type { Interval, RunSummary, Stats } from '../summary.js'
import { NS_PER_S } from '../units.js'
import { formatCount, formatNumber, formatPercent, formatUsd, formatWithUnit, NOT_AVAILABLE } from './format.js'
import { latencyCdfs, type CdfSeries } from './latency-cdf.js'
import { loadSeries, niceBinS, powerSeries, runSpanNs, type LoadPoint, type PowerSeries } from './time-series.js'

export const REPORT_SCHEMA = 'tokenwatt.report/v1'

/** One reported number with the unit, boundary and source every figure must carry (DESIGN.md §7). */
export interface ReportFigure {
  /** Metric id (snake_case) where one exists. */
  readonly id: string
  readonly label: string
  readonly value: number | null
  readonly unit: string
  /** Formatted value with unit; "n/a" when not measured. */
  readonly text: string
  /** Power boundary the figure is at; null for figures that do not involve power. */
  readonly boundary: string | null
  /** Where the number came from: window, meters, model, assumptions. */
  readonly source: string
  readonly interval: Interval | null
}

/** A pre-formatted table, so HTML and Markdown show the same strings. */
export interface ReportTable {
  readonly id: string
  readonly title: string
  readonly caption: string
  readonly columns: readonly string[]
  readonly rows: readonly (readonly string[])[]
  /** Columns holding numbers (right-aligned). */
  readonly numeric: readonly number[]
}

export interface EnergyBar {
  readonly boundary: string
  readonly source: 'measured' | 'modeled'
  readonly energyWh: number | null
  readonly avgW: number | null
  readonly lowWh: number | null
  readonly highWh: number | null
}

export interface CostBar {
  readonly component: string
  readonly label: string
  readonly usdPerMillionOutputTokens: number
}

export interface ReportModel {
  readonly schema: typeof REPORT_SCHEMA
  readonly title: string
  readonly subtitle: string
  readonly run: {
    readonly id: string
    readonly status: string
    /** `invalid` when too many requests failed to quote the figures (null for runs before the verdict existed). */
    readonly validity: 'valid' | 'invalid' | null
    readonly invalidReasons: readonly string[]
    readonly startedAt: string
    readonly endedAt: string
    readonly model: string
    readonly endpoint: string
    readonly server: string | null
    readonly api: string
    readonly toolVersion: string
    readonly load: string
  }
  readonly headline: readonly ReportFigure[]
  readonly tables: readonly ReportTable[]
  readonly series: {
    readonly binS: number
    readonly window: { readonly startS: number; readonly endS: number; readonly method: string }
    readonly load: readonly LoadPoint[]
    readonly latency: readonly CdfSeries[]
    readonly power: readonly PowerSeries[]
    readonly energyByBoundary: readonly EnergyBar[]
    readonly costByComponent: readonly CostBar[]
  }
  readonly cost: CostResult | null
  /** The resolved config, pretty-printed JSON (secrets were removed before it was stored). */
  readonly config: string
  readonly provenance: readonly { readonly label: string; readonly value: string }[]
  readonly warnings: readonly string[]
}

export interface ReportOptions {
  /** Cost recomputed with report-time flags; replaces summary.cost. */
  readonly cost?: CostResult | null
  readonly costWarnings?: readonly string[]
  /** Upper bound on time bins in the over-time charts. */
  readonly maxBins?: number
  /** The user's current prices, for the price sheet's margins. */
  readonly prices?: CurrentPrices
}

/** The summary's cost section with the breakdown computeCost adds, when it has it. */
export function costResultOf(summary: RunSummary): CostResult | null {
  const c = summary.cost
  return c && typeof c === 'object' && 'usdPerMillionOutputTokensByComponent' in c ? (c as CostResult) : null
}

const fig = (id: string, label: string, value: number | null, unit: string, boundary: string | null, source: string, interval: Interval | null = null, text?: string): ReportFigure => ({
  id,
  label,
  value,
  unit,
  text: text ?? formatWithUnit(value, unit),
  boundary,
  source,
  interval,
})

const invert = (i: Interval | null): Interval | null => (i && i.low > 0 && i.high > 0 ? { low: 1 / i.high, high: 1 / i.low } : null)

function describeLoad(s: RunSummary): string {
  if (s.load.type === 'closed-loop') return `closed loop, ${s.load.concurrency ?? '?'} concurrent users`
  return `${s.load.type} arrivals at ${formatNumber(s.load.rate)} req/s`
}

function sloText(s: RunSummary): string {
  const bounds = [s.slo.ttftMs !== undefined ? `TTFT ≤ ${s.slo.ttftMs} ms` : null, s.slo.tpotMs !== undefined ? `TPOT ≤ ${s.slo.tpotMs} ms` : null, s.slo.e2eMs !== undefined ? `E2E ≤ ${s.slo.e2eMs} ms` : null].filter(Boolean)
  return bounds.length > 0 ? bounds.join(', ') : 'no SLO set'
}

function powerSource(s: RunSummary): string {
  const p = s.power
  if (!p) return 'no power meter'
  const parts = [p.measured.length > 0 ? `measured: ${p.measured.join(', ')}` : null, p.modeled.length > 0 ? `modelled: ${p.modeled.join(', ')}` : null].filter(Boolean)
  return parts.join('; ') || 'no meter readings'
}

function latencyTable(s: RunSummary): ReportTable {
  const row = (label: string, st: Stats, unit: string): string[] => [label, unit, formatCount(st.count), ...[st.mean, st.p50, st.p90, st.p95, st.p99, st.max].map((v) => formatNumber(v))]
  return {
    id: 'latency',
    title: 'Latency',
    caption: `Successful requests that ended in the steady window (${formatNumber(s.window.durationS)} s). TPOT = (E2E − TTFT)/(output tokens − 1); interactivity = 1/TPOT.`,
    columns: ['metric', 'unit', 'n', 'mean', 'p50', 'p90', 'p95', 'p99', 'max'],
    numeric: [2, 3, 4, 5, 6, 7, 8],
    rows: [
      row('TTFT', s.latency.ttftMs, 'ms'),
      row('TPOT', s.latency.tpotMs, 'ms'),
      row('ITL', s.latency.itlMs, 'ms'),
      row('E2E latency', s.latency.e2eMs, 'ms'),
      row('Interactivity', s.latency.interactivityTokPerS, 'tok/s/user'),
    ],
  }
}

function requestsTable(s: RunSummary): ReportTable {
  const errors = Object.entries(s.requests.errorsByKind).filter(([k, n]) => n > 0 && k !== 'aborted')
  return {
    id: 'requests',
    title: 'Requests and tokens',
    caption: `Token counts from ${s.tokens.source === 'server-usage' ? "the server's usage field" : s.tokens.source === 'client-count' ? 'counting streamed chunks (the server sent no usage)' : `${s.tokens.source} sources`}.`,
    columns: ['item', 'value'],
    numeric: [1],
    rows: [
      ['requests sent', formatCount(s.requests.total)],
      ['succeeded', formatCount(s.requests.succeeded)],
      ['failed', formatCount(s.requests.failed)],
      ...errors.map(([k, n]) => [`  failed: ${k}`, formatCount(n)]),
      ...(s.requests.aborted ? [['cancelled by Ctrl-C', formatCount(s.requests.aborted)]] : []),
      ['warm-up (excluded)', formatCount(s.requests.warmup)],
      ['ended in steady window', formatCount(s.requests.inWindow)],
      ['dropped arrivals', formatCount(s.requests.droppedArrivals)],
      ['responses without usage', formatCount(s.requests.missingUsage)],
      ['input tokens (window)', formatCount(s.tokens.input)],
      ['output tokens (window)', formatCount(s.tokens.output)],
      ['input tokens / request (p50)', formatNumber(s.tokens.inputPerRequest.p50)],
      ['output tokens / request (p50)', formatNumber(s.tokens.outputPerRequest.p50)],
    ],
  }
}

function energyTables(s: RunSummary): ReportTable[] {
  const p = s.power
  if (!p) return []
  const wh = (j: number | null): string => (j === null ? NOT_AVAILABLE : formatNumber(j / 3600))
  const levels: ReportTable = {
    id: 'energy-levels',
    title: 'Energy by boundary',
    caption: 'Energy in the steady window at each boundary: measured by a meter there, or modelled from the level below with the assumptions listed.',
    columns: ['boundary', 'source', 'avg power (W)', 'energy (Wh)', 'interval (Wh)', 'assumptions'],
    numeric: [2, 3],
    rows: p.levels.map((l) => [
      l.boundary,
      l.source,
      formatNumber(l.avgW),
      wh(l.energyJ),
      l.interval ? `${wh(l.interval.low)} – ${wh(l.interval.high)}` : NOT_AVAILABLE,
      l.assumptions.map((a) => `${a.name} = ${formatNumber(a.value)} ${a.unit} (${a.source})`).join('; ') || '—',
    ]),
  }
  const meters: ReportTable = {
    id: 'meters',
    title: 'Power meters',
    caption: 'Each meter, its boundary, and how energy was obtained (counter difference or trapezoid over samples).',
    columns: ['meter', 'kind', 'boundary', 'measured', 'method', 'channels', 'samples', 'coverage', 'avg W', 'energy (Wh)', 'idle W'],
    numeric: [5, 6, 7, 8, 9, 10],
    rows: p.meters.map((m) => [
      m.id,
      m.kind,
      m.boundary,
      m.measured ? 'yes' : 'modelled',
      m.method,
      String(m.channels.length),
      formatCount(m.samples),
      formatPercent(m.coverage),
      formatNumber(m.avgW),
      wh(m.energyJ),
      formatNumber(m.idleW),
    ]),
  }
  const sites: ReportTable[] = []
  for (const [by, list] of [['node', p.byNode], ['rack', p.byRack]] as const) {
    if (list === undefined) continue
    sites.push({
      id: `energy-by-${by}`,
      title: `Energy by ${by}`,
      caption: `Each ${by}'s meters through the same attribution as the whole: measured where a meter at the ${by} reads it, modelled from the meters inside it where not.`,
      columns: [by, 'source', 'avg power (W)', 'energy (Wh)', 'interval (Wh)', 'meters'],
      numeric: [2, 3],
      rows: list.map((x) => [x.name, x.source ?? NOT_AVAILABLE, formatNumber(x.avgW), wh(x.energyJ), x.interval ? `${wh(x.interval.low)} – ${wh(x.interval.high)}` : (x.reason ?? NOT_AVAILABLE), x.meters.join(', ')]),
    })
  }
  return [levels, ...sites, meters]
}

function efficiencyTable(s: RunSummary, cost: CostResult | null): ReportTable | null {
  const e = s.efficiency
  if (!e && !cost) return null
  const src = e ? `${e.boundary}; ${[...e.measured.map((m) => `measured ${m}`), ...e.modeled.map((m) => `modelled ${m}`)].join(', ') || 'no meters'}` : ''
  const rows: string[][] = []
  if (e) {
    rows.push(['output tokens per joule', formatWithUnit(e.outputTokensPerJoule, 'tok/J'), e.boundary, src])
    rows.push(['total tokens per joule', formatWithUnit(e.totalTokensPerJoule, 'tok/J'), e.boundary, src])
    rows.push(['joules per output token', formatWithUnit(e.joulesPerOutputToken, 'J/tok'), e.boundary, e.interval ? `${src}; interval ${formatNumber(e.interval.low)} – ${formatNumber(e.interval.high)} J/tok` : src])
    rows.push(['joules per token (in + out)', formatWithUnit(e.joulesPerToken, 'J/tok'), e.boundary, src])
    rows.push(['output tok/s per measured MW', formatWithUnit(e.outputTokensPerSPerMW, 'tok/s/MW'), e.boundary, 'average power measured in the window'])
    rows.push(['output tok/s per provisioned MW', formatWithUnit(e.outputTokensPerSPerProvisionedMW, 'tok/s/MW'), e.boundary, 'nameplate or power cap'])
  }
  if (cost) {
    const t = cost.tokensPerSPerMW
    const fac = cost.energy.source ? `facility power ${cost.energy.source === 'scaled-by-pue' ? `= ${cost.energy.fromBoundary} × PUE` : cost.energy.source}` : NOT_AVAILABLE
    rows.push(['output tok/s per measured facility MW', formatWithUnit(t.outputPerMeasuredFacilityMW, 'tok/s/MW'), 'facility', fac])
    rows.push(['output tok/s per provisioned facility MW', formatWithUnit(t.outputPerProvisionedFacilityMW, 'tok/s/MW'), 'facility', 'all-in provisioned kW per accelerator × accelerators × PUE'])
    rows.push(['output tok/s per provisioned IT MW', formatWithUnit(t.outputPerProvisionedItMW, 'tok/s/MW'), 'rack (IT)', 'all-in provisioned kW per accelerator × accelerators'])
    rows.push(['total tok/s per provisioned facility MW', formatWithUnit(t.totalPerProvisionedFacilityMW, 'tok/s/MW'), 'facility', 'input + output tokens'])
  }
  return { id: 'efficiency', title: 'Efficiency', caption: 'Every figure is over the steady window, at the boundary shown.', columns: ['figure', 'value', 'boundary', 'source'], numeric: [1], rows }
}

function costTables(cost: CostResult): ReportTable[] {
  const perHour = cost.usdPerHour as Readonly<Record<string, number | undefined>>
  const perM = cost.usdPerMillionOutputTokensByComponent as Readonly<Record<string, number | undefined>>
  const rows: string[][] = []
  for (const c of COST_COMPONENTS) {
    const h = perHour[c]
    if (h === undefined) continue
    rows.push([COST_COMPONENT_LABELS[c], formatUsd(h), formatUsd(h / cost.accelerators), formatUsd(perM[c]), cost.usdPerHourTotal ? formatPercent(h / cost.usdPerHourTotal) : NOT_AVAILABLE])
  }
  rows.push(['Total', formatUsd(cost.usdPerHourTotal), formatUsd(cost.usdPerAcceleratorHour), formatUsd(cost.usdPerMillionOutputTokens), cost.usdPerHourTotal ? '100 %' : NOT_AVAILABLE])
  const breakdown: ReportTable = {
    id: 'cost',
    title: 'Cost by component',
    caption: `${cost.mode === 'rent' ? 'Rented' : cost.mode === 'own' ? 'Owned' : 'Electricity only'}, ${cost.accelerators} accelerator${cost.accelerators === 1 ? '' : 's'}${cost.preset ? ` (preset ${cost.preset})` : ''}, utilisation ${formatPercent(cost.utilization)}. Electricity is priced at the facility boundary${cost.energy.included ? ' (included in the rental price)' : ''}.`,
    columns: ['component', 'USD / hour', 'USD / accelerator-hour', 'USD / M output tokens', 'share'],
    numeric: [1, 2, 3, 4],
    rows,
  }
  const per: string[][] = [
    ['per million output tokens', formatUsd(cost.usdPerMillionOutputTokens), 'all cost on output tokens (InferenceX convention)'],
    ['per million input tokens', formatUsd(cost.usdPerMillionInputTokens), 'all cost on input tokens'],
    ['per million tokens (input + output)', formatUsd(cost.usdPerMillionTokensBlended), 'all cost over every token'],
    ['per million good output tokens', formatUsd(cost.usdPerMillionGoodOutputTokens), 'only requests that met the SLO'],
    [
      `break-even prices at input:output = ${formatNumber(cost.breakEven.inputOutputPriceRatio)}`,
      `${formatUsd(cost.breakEven.usdPerMillionInputTokens)} in / ${formatUsd(cost.breakEven.usdPerMillionOutputTokens)} out`,
      'per million tokens; recovers cost exactly',
    ],
  ]
  if (cost.interval) per.push(['interval (per M output tokens)', `${formatUsd(cost.interval.low)} – ${formatUsd(cost.interval.high)}`, 'from the energy measurement interval'])
  if (cost.revenue) {
    const r = cost.revenue
    per.push(
      ['revenue per hour', formatUsd(r.usdPerHour), `at ${formatUsd(r.usdPerMillionInputTokens)} in / ${formatUsd(r.usdPerMillionOutputTokens)} out per M tokens`],
      ['revenue per provisioned MW-hour', formatUsd(r.usdPerMWhProvisioned), 'facility provisioned power'],
      ['revenue per MWh consumed', formatUsd(r.usdPerMWhConsumed), 'facility energy'],
      ['margin per hour', formatUsd(r.marginUsdPerHour), r.marginShare !== null ? `${formatPercent(r.marginShare)} of revenue` : ''],
    )
  }
  const perToken: ReportTable = { id: 'cost-per-token', title: 'Cost per token', caption: 'Cost per hour ÷ (tokens per hour × utilisation) × 1e6.', columns: ['figure', 'USD', 'basis'], numeric: [1], rows: per }
  const assumptions: ReportTable = {
    id: 'cost-assumptions',
    title: 'Cost assumptions',
    caption: 'Every input the cost model used, with its source. "config" means you set it; everything else can be overridden in cost: or with flags.',
    columns: ['input', 'value', 'unit', 'source'],
    numeric: [1],
    rows: cost.assumptions.map((a) => [a.name, typeof a.value === 'number' ? formatNumber(a.value, 4) : a.value, a.unit, a.source]),
  }
  return [breakdown, perToken, assumptions]
}

function headline(s: RunSummary, cost: CostResult | null): ReportFigure[] {
  const window = `steady window ${formatNumber(s.window.durationS)} s`
  const e = s.efficiency
  const out: ReportFigure[] = []
  if (cost) {
    out.push(
      fig('cost_per_million_output_tokens', 'Cost per M output tokens', cost.usdPerMillionOutputTokens, 'USD', 'facility', `${cost.mode} cost model, utilisation ${formatPercent(cost.utilization)}; assumptions listed below`, cost.interval),
    )
  }
  out.push(
    fig('output_token_throughput', 'Output throughput', s.throughput.outputTokensPerS, 'tok/s', null, `${window}; tokens by chunk arrival, ${s.tokens.source}`),
    fig('output_tokens_per_joule', 'Output tokens per joule', e?.outputTokensPerJoule ?? null, 'tok/J', e?.boundary ?? null, e ? powerSource(s) : 'no power meter', invert(e?.interval ?? null)),
    fig('average_power', 'Average power', s.power?.avgW ?? null, 'W', s.power?.boundary ?? null, powerSource(s), s.power?.interval && s.power.energyJ && s.window.durationS > 0 ? { low: s.power.interval.low / s.window.durationS, high: s.power.interval.high / s.window.durationS } : null),
  )
  if (cost?.tokensPerSPerMW.outputPerProvisionedFacilityMW !== undefined && cost.tokensPerSPerMW.outputPerProvisionedFacilityMW !== null) {
    out.push(fig('output_tokens_per_s_per_provisioned_mw', 'Output tok/s per provisioned MW', cost.tokensPerSPerMW.outputPerProvisionedFacilityMW, 'tok/s/MW', 'facility', 'all-in provisioned power × PUE'))
  } else {
    out.push(fig('output_tokens_per_s_per_mw', 'Output tok/s per MW', e?.outputTokensPerSPerMW ?? null, 'tok/s/MW', e?.boundary ?? null, e ? `measured average power; ${powerSource(s)}` : 'no power meter'))
  }
  out.push(
    fig('slo_attainment', 'SLO attainment', s.slo.attainment, '%', null, sloText(s)),
    fig('time_to_first_token_p99', 'TTFT p99', s.latency.ttftMs.p99, 'ms', null, `${s.latency.ttftMs.count} requests in window`),
    fig('interactivity_p50', 'Interactivity p50', s.latency.interactivityTokPerS.p50, 'tok/s/user', null, '1 / TPOT, median request'),
  )
  return out
}

/**
 * Builds the report model of one run: headline figures, tables and chart series, every figure with
 * its boundary and source. Pure and renderer-agnostic; the series are reduced to a few hundred points
 * so a 100k-request run renders in well under a second.
 */
export function buildReportModel(summary: RunSummary, requests: readonly RequestRecord[], powerSamples: readonly PowerSample[], options: ReportOptions = {}): ReportModel {
  const cost = options.cost !== undefined ? options.cost : costResultOf(summary)
  const spanNs = Math.max(runSpanNs(requests, powerSamples), summary.window.endS * NS_PER_S)
  // Bins hold at least ~300 output tokens on average, or a low-rate run draws chunk-arrival aliasing.
  const tokensPerS = summary.throughput.outputTokensPerS > 0 ? summary.throughput.outputTokensPerS : 1
  const spanS = spanNs / NS_PER_S
  const binS = Math.max(niceBinS(spanS, options.maxBins ?? 240), Math.min(niceBinS(300 / tokensPerS, 1), niceBinS(spanS, 20)))
  const meters = summary.power?.meters ?? []
  const windowNs = { startNs: summary.window.startS * NS_PER_S, endNs: summary.window.endS * NS_PER_S }
  const energyByBoundary: EnergyBar[] = (summary.power?.levels ?? []).map((l) => ({
    boundary: l.boundary,
    source: l.source,
    energyWh: l.energyJ !== null ? l.energyJ / 3600 : null,
    avgW: l.avgW,
    lowWh: l.interval ? l.interval.low / 3600 : null,
    highWh: l.interval ? l.interval.high / 3600 : null,
  }))
  const byComponent = (cost?.usdPerMillionOutputTokensByComponent ?? {}) as Readonly<Record<string, number | undefined>>
  const costByComponent: CostBar[] = COST_COMPONENTS.flatMap((c) => {
    const v = byComponent[c]
    return v !== undefined ? [{ component: c, label: COST_COMPONENT_LABELS[c], usdPerMillionOutputTokens: v }] : []
  })
  const tables = [latencyTable(summary), requestsTable(summary), ...energyTables(summary)]
  const eff = efficiencyTable(summary, cost)
  if (eff) tables.push(eff)
  if (cost) tables.push(...costTables(cost))
  tables.push(...phaseTables(summary, cost, options.prices))
  tables.push(...taskTables(summary))
  const taskCdf = taskLatencyCdf(summary, requests)
  const t = summary.target
  return {
    schema: REPORT_SCHEMA,
    title: `${t.model} — token economics`,
    subtitle: `${t.server ?? 'unknown server'} at ${t.endpoint} · ${describeLoad(summary)} · ${summary.startedAt}`,
    run: {
      id: summary.id,
      status: summary.status,
      validity: summary.validity?.verdict ?? null,
      invalidReasons: summary.validity?.reasons ?? [],
      startedAt: summary.startedAt,
      endedAt: summary.endedAt,
      model: t.model,
      endpoint: t.endpoint,
      server: t.server,
      api: t.api,
      toolVersion: summary.tool.version,
      load: describeLoad(summary),
    },
    headline: [...headline(summary, cost), ...taskHeadline(summary)],
    tables,
    series: {
      binS,
      window: { startS: summary.window.startS, endS: summary.window.endS, method: summary.window.method },
      load: loadSeries(requests, binS, spanNs),
      latency: taskCdf ? [...latencyCdfs(requests, windowNs), taskCdf] : latencyCdfs(requests, windowNs),
      power: powerSeries(powerSamples, meters, binS, spanNs),
      energyByBoundary,
      costByComponent,
    },
    cost,
    config: JSON.stringify(summary.config ?? null, null, 2),
    provenance: [
      { label: 'run id', value: summary.id },
      { label: 'status', value: summary.status },
      { label: 'started', value: summary.startedAt },
      { label: 'ended', value: summary.endedAt },
      { label: 'tool', value: `${summary.tool.name} ${summary.tool.version}` },
      { label: 'endpoint', value: `${t.endpoint} (${t.api} API)` },
      { label: 'model', value: t.model },
      { label: 'server', value: t.server ?? 'not reported' },
      { label: 'load', value: describeLoad(summary) },
      { label: 'steady window', value: `${formatNumber(summary.window.startS)} – ${formatNumber(summary.window.endS)} s (${summary.window.method})` },
      { label: 'token counts', value: summary.tokens.source },
      { label: 'power boundary', value: summary.power ? `${summary.power.boundary}; ${powerSource(summary)}` : 'no power measured' },
      { label: 'SLO', value: sloText(summary) },
      { label: 'records', value: `${requests.length} requests, ${powerSamples.length} power samples` },
    ],
    warnings: [...summary.warnings, ...(options.costWarnings ?? [])],
  }
}
