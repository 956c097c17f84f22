import { formatCount, formatNumber, formatUsd } from './format.js'
import type { ReportModel } from './report-model.js'

/**
 * Vega-Lite specs for the report's charts, built from the report model as plain data (no I/O); the
 * charts adapter renders them to SVG. Data is always inline (`values`), never a URL, and every
 * field name is ours: strings from servers and configs only ever appear as data values, which the
 * renderer escapes.
 */
export interface ChartSpec {
  readonly id: string
  readonly title: string
  /** Boundary and source of what is drawn. */
  readonly caption: string
  /** Null when there is nothing to draw; `empty` says why. */
  readonly spec: Record<string, unknown> | null
  readonly empty?: string
}

const WIDTH = 820
const HEIGHT = 220
const BLUE = '#2563eb'
const ORANGE = '#ea580c'
const WINDOW_FILL = '#16a34a'

export const chartBase = (): Record<string, unknown> => ({
  ...base(),
})

const base = (): Record<string, unknown> => ({
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  width: WIDTH,
  height: HEIGHT,
  background: 'white',
  padding: 8,
  config: {
    font: 'Helvetica, Arial, sans-serif',
    view: { stroke: null },
    axis: { labelColor: '#374151', titleColor: '#111827', gridColor: '#e5e7eb', domainColor: '#9ca3af', tickColor: '#9ca3af', labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' },
    legend: { labelFontSize: 11, titleFontSize: 11, orient: 'bottom', labelLimit: 360 },
  },
})

function windowLayer(model: ReportModel): Record<string, unknown> {
  const w = model.series.window
  return {
    data: { values: [{ start: w.startS, end: w.endS, label: 'steady window' }] },
    mark: { type: 'rect', color: WINDOW_FILL, opacity: 0.1 },
    encoding: { x: { field: 'start', type: 'quantitative' }, x2: { field: 'end' } },
  }
}

function loadChart(model: ReportModel): ChartSpec {
  const w = model.series.window
  const title = 'Throughput and requests in flight'
  const caption = `Output tokens per second by chunk arrival and mean requests in flight, per ${formatNumber(model.series.binS)} s bin. Shaded: the steady window (${formatNumber(w.startS)}–${formatNumber(w.endS)} s, ${w.method}) every efficiency figure is computed over. Source: client request records.`
  if (model.series.load.length === 0) return { id: 'load', title, caption, spec: null, empty: 'no requests recorded' }
  const x = { field: 'tS', type: 'quantitative', title: 'time since run start (s)' }
  return {
    id: 'load',
    title,
    caption,
    spec: {
      ...base(),
      layer: [
        windowLayer(model),
        {
          data: { values: model.series.load },
          mark: { type: 'line', color: BLUE, strokeWidth: 1.5, interpolate: 'step-after' },
          encoding: { x, y: { field: 'outputTokensPerS', type: 'quantitative', title: 'output tokens/s', axis: { titleColor: BLUE } } },
        },
        {
          data: { values: model.series.load },
          mark: { type: 'line', color: ORANGE, strokeWidth: 1.5, strokeDash: [4, 3], interpolate: 'step-after' },
          encoding: { x, y: { field: 'inFlight', type: 'quantitative', title: 'requests in flight', axis: { titleColor: ORANGE, orient: 'right', grid: false } } },
        },
      ],
      resolve: { scale: { y: 'independent' } },
    },
  }
}

function latencyChart(model: ReportModel): ChartSpec {
  // A log axis spanning seven decades (coalesced chunks give ITL gaps of microseconds) hides the
  // body of every curve: the axis starts two decades below the smallest median and clips below.
  const medians = model.series.latency.map((c) => c.points.find((p) => p.p >= 0.5)?.ms).filter((v): v is number => v !== undefined && v > 0)
  const floorMs = medians.length > 0 ? 10 ** Math.floor(Math.log10(Math.min(...medians) / 100)) : 0
  const rows = model.series.latency.flatMap((c) => c.points.filter((p) => p.ms > 0 && p.ms >= floorMs).map((p) => ({ metric: c.label, ms: p.ms, p: p.p })))
  const clipped = model.series.latency.some((c) => c.points.some((p) => p.ms > 0 && p.ms < floorMs))
  const itl = model.series.latency.find((c) => c.metric === 'itl')
  const sampled = itl && itl.count < itl.population ? ` ITL drawn from a systematic sample of ${formatCount(itl.count)} of ${formatCount(itl.population)} gaps.` : ''
  const title = 'Latency distributions'
  const caption = `Empirical CDFs over successful requests that ended in the steady window (log scale${clipped ? `; values below ${formatNumber(floorMs)} ms are off the axis` : ''}). Source: client-side timestamps (monotonic clock).${sampled}`
  if (rows.length === 0) return { id: 'latency', title, caption, spec: null, empty: 'no successful requests in the window' }
  return {
    id: 'latency',
    title,
    caption,
    spec: {
      ...base(),
      data: { values: rows },
      mark: { type: 'line', strokeWidth: 1.5, interpolate: 'step-after' },
      encoding: {
        x: { field: 'ms', type: 'quantitative', scale: { type: 'log', ...(clipped ? { domainMin: floorMs } : {}) }, title: 'milliseconds (log scale)' },
        y: { field: 'p', type: 'quantitative', title: 'share of requests ≤ x', axis: { format: '.0%' }, scale: { domain: [0, 1] } },
        color: { field: 'metric', type: 'nominal', title: null, sort: ['TTFT', 'TPOT', 'ITL', 'E2E latency', 'Task latency'], scale: { range: [BLUE, ORANGE, '#7c3aed', '#0891b2', '#b91c1c'] } },
      },
    },
  }
}

function powerChart(model: ReportModel): ChartSpec {
  const rows = model.series.power.flatMap((s) => s.points.map((p) => ({ series: `${s.meterId} (${s.kind}, ${s.boundary}${s.measured ? '' : ', modelled'})`, tS: p.tS, w: p.w })))
  const title = 'Power per meter'
  const caption = `Mean power per ${formatNumber(model.series.binS)} s bin, summed over each meter's channels; boundary and source in the legend. Shaded: the steady window.`
  if (rows.length === 0) return { id: 'power', title, caption, spec: null, empty: 'no power samples: run with a meter (--meter) to measure energy' }
  return {
    id: 'power',
    title,
    caption,
    spec: {
      ...base(),
      layer: [
        windowLayer(model),
        {
          data: { values: rows },
          mark: { type: 'line', strokeWidth: 1.5 },
          encoding: {
            x: { field: 'tS', type: 'quantitative', title: 'time since run start (s)' },
            y: { field: 'w', type: 'quantitative', title: 'power (W)' },
            color: { field: 'series', type: 'nominal', title: null },
          },
        },
      ],
    },
  }
}

function energyChart(model: ReportModel): ChartSpec {
  const rows = model.series.energyByBoundary.filter((b) => b.energyWh !== null)
  const title = 'Energy by boundary'
  const caption = 'Energy in the steady window at each boundary, measured by a meter there or modelled from the level below (assumptions in the table). Bars: interval.'
  if (rows.length === 0) return { id: 'energy', title, caption, spec: null, empty: 'no energy measured' }
  const x = { field: 'boundary', type: 'nominal', sort: ['device', 'node', 'rack', 'cluster', 'facility'], title: null, axis: { labelAngle: 0 } }
  const layers: Record<string, unknown>[] = [
    {
      mark: { type: 'bar', width: { band: 0.6 } },
      encoding: {
        x,
        y: { field: 'energyWh', type: 'quantitative', title: 'energy in window (Wh)' },
        color: { field: 'source', type: 'nominal', title: null, scale: { domain: ['measured', 'modeled'], range: [BLUE, '#93c5fd'] } },
      },
    },
  ]
  if (rows.some((r) => r.lowWh !== null)) {
    layers.push({ mark: { type: 'rule', color: '#111827' }, encoding: { x, y: { field: 'lowWh', type: 'quantitative' }, y2: { field: 'highWh' } } })
  }
  return { id: 'energy', title, caption, spec: { ...base(), height: 200, data: { values: rows }, layer: layers } }
}

function costChart(model: ReportModel): ChartSpec {
  const rows = model.series.costByComponent
  const cost = model.cost
  const title = 'Cost per million output tokens by component'
  const caption = cost
    ? `Total ${formatUsd(cost.usdPerMillionOutputTokens)} per M output tokens (${cost.mode}, utilisation ${formatNumber(cost.utilization * 100)} %). Electricity at the facility boundary; every input is listed under Cost assumptions.`
    : 'No cost model configured.'
  if (!cost || rows.length === 0) return { id: 'cost', title, caption, spec: null, empty: 'no cost model: pass --preset, --usd-per-accelerator-hour or a cost: section' }
  const data = [...rows].sort((a, b) => b.usdPerMillionOutputTokens - a.usdPerMillionOutputTokens).map((r) => ({ ...r, text: formatUsd(r.usdPerMillionOutputTokens) }))
  const y = { field: 'label', type: 'nominal', sort: data.map((r) => r.label), title: null, axis: { labelLimit: 220 } }
  return {
    id: 'cost',
    title,
    caption,
    spec: {
      ...base(),
      height: Math.max(60, 28 * rows.length),
      data: { values: data },
      layer: [
        { mark: { type: 'bar', color: BLUE, height: { band: 0.7 } }, encoding: { y, x: { field: 'usdPerMillionOutputTokens', type: 'quantitative', title: 'USD per million output tokens' } } },
        { mark: { type: 'text', align: 'left', dx: 4, color: '#111827' }, encoding: { y, x: { field: 'usdPerMillionOutputTokens', type: 'quantitative' }, text: { field: 'text' } } },
      ],
    },
  }
}

/** The report's charts, in the order the HTML shows them. */
export function buildChartSpecs(model: ReportModel): ChartSpec[] {
  return [loadChart(model), latencyChart(model), powerChart(model), energyChart(model), costChart(model)]
}
