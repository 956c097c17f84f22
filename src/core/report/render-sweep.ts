import type { SweepPoint, SweepResult } from '../sweep/sweep-result.js'
import { frontierY } from '../sweep/sweep-result.js'
import { chartBase, type ChartSpec } from './chart-specs.js'
import { escapeHtml as e } from './escape.js'
import { formatNumber, formatPercent } from './format.js'
import { REPORT_CSS, type RenderedChart } from './render-html.js'

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

const HARDWARE = /^(gpu|cpu)\./

function meanOf(xs: readonly (number | null)[]): number | null {
  const k = xs.filter((x): x is number => x !== null)
  return k.length ? k.reduce((a, b) => a + b, 0) / k.length : null
}

/** The axis a chart draws along: the first hardware knob, else the last knob. */
function xAxis(r: SweepResult): string | null {
  return r.axes.find((a) => HARDWARE.test(a.name))?.name ?? r.axes[r.axes.length - 1]?.name ?? null
}

function seriesOf(p: SweepPoint, x: string): string {
  const rest = Object.entries(p.knobs).filter(([k]) => k !== x)
  return rest.length ? rest.map(([k, v]) => `${k}=${v}`).join(', ') : 'all'
}

/** Vega-Lite specs of a sweep: objective vs the swept setting per load, the Pareto frontier, SLO attainment. */
export function sweepChartSpecs(r: SweepResult): ChartSpec[] {
  const x = xAxis(r)
  const pts = r.points.filter((p) => !p.baseline && p.objective.value !== null)
  const objective: Mutable<ChartSpec> = { id: 'objective', title: `${r.unit} by ${x ?? 'point'}`, caption: `The objective (${r.objective}) of every measured point, one line per value of the other knobs; points that missed the SLO are hollow. Whiskers: the point's interval (repeats and meter uncertainty).`, spec: null, empty: 'no point has a figure' }
  if (x && pts.length > 0) {
    const values = pts.map((p) => ({ x: p.knobs[x], y: p.objective.value, lo: p.objective.interval?.low ?? p.objective.value, hi: p.objective.interval?.high ?? p.objective.value, series: seriesOf(p, x), feasible: p.score.feasible ? 'meets SLO' : 'misses SLO' }))
    objective.spec = {
      ...chartBase(),
      data: { values },
      layer: [
        { mark: { type: 'rule' }, encoding: { x: { field: 'x', type: 'quantitative', title: x, scale: { zero: false } }, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color: { field: 'series', type: 'nominal', title: null } } },
        { mark: { type: 'line', point: false }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative', title: r.unit, scale: { zero: false } }, color: { field: 'series', type: 'nominal', title: null } } },
        { mark: { type: 'point', size: 60 }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, color: { field: 'series', type: 'nominal', title: null }, fill: { condition: { test: "datum.feasible === 'meets SLO'", field: 'series', type: 'nominal' }, value: 'white' }, shape: { field: 'feasible', type: 'nominal', title: null } } },
      ],
    }
    delete objective.empty
  }
  const frontierKeys = new Set(r.frontier)
  const fx = r.points.filter((p) => !p.baseline).map((p) => ({ x: meanOf(p.repeats.map((f) => f.interactivityTokPerS)), y: meanOf(p.repeats.map(frontierY)), key: p.key, kind: frontierKeys.has(p.key) ? 'frontier' : p.score.feasible ? 'inside SLO' : 'misses SLO' })).filter((v) => v.x !== null && v.y !== null)
  const perMW = r.points.some((p) => p.repeats.some((f) => f.goodTokensPerSPerMW !== null))
  const pareto: Mutable<ChartSpec> = { id: 'frontier', title: 'Pareto frontier: throughput per MW against interactivity', caption: `Good output tokens/s per ${perMW ? 'provisioned' : 'measured'} MW against median tokens/s per user (the chart InferenceX and vLLM's plot_pareto draw). The line joins the frontier: no other point is better on both.`, spec: null, empty: 'no point has both figures' }
  if (fx.length > 0) {
    pareto.spec = {
      ...chartBase(),
      layer: [
        { data: { values: fx.filter((v) => v.kind === 'frontier').sort((a, b) => (a.x as number) - (b.x as number)) }, mark: { type: 'line', color: '#16a34a' }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } } },
        { data: { values: fx }, mark: { type: 'point', size: 60, filled: true }, encoding: { x: { field: 'x', type: 'quantitative', title: 'interactivity (tok/s per user, median)', scale: { zero: false } }, y: { field: 'y', type: 'quantitative', title: `good tok/s per ${perMW ? 'provisioned' : 'measured'} MW`, scale: { zero: false } }, color: { field: 'kind', type: 'nominal', title: null, scale: { domain: ['frontier', 'inside SLO', 'misses SLO'], range: ['#16a34a', '#2563eb', '#dc2626'] } } } },
      ],
    }
    delete pareto.empty
  }
  const att = r.points.filter((p) => !p.baseline).map((p) => ({ key: p.key, attainment: meanOf(p.repeats.map((f) => f.sloAttainment)) })).filter((v) => v.attainment !== null)
  const slo: Mutable<ChartSpec> = { id: 'slo', title: 'SLO attainment per point', caption: 'Share of requests meeting every SLO bound, per point (mean over repeats).', spec: null, empty: 'no SLO was set' }
  if (att.length > 0) {
    slo.spec = { ...chartBase(), height: Math.max(120, 18 * att.length), data: { values: att }, mark: { type: 'bar', color: '#2563eb' }, encoding: { y: { field: 'key', type: 'nominal', title: null, sort: null }, x: { field: 'attainment', type: 'quantitative', title: 'attainment', scale: { domain: [0, 1] }, axis: { format: '%' } } } }
    delete slo.empty
  }
  return [objective, pareto, slo]
}

function fmtSaving(x: number | null): string {
  return x === null ? 'n/a' : `${x > 0 ? '+' : ''}${formatPercent(x, 3)}`
}

/** The sweep's self-contained HTML page: the chosen point and its savings, the charts, every point. */
export function renderSweepHtml(r: SweepResult, charts: readonly RenderedChart[], version: string): string {
  const c = r.chosen
  const knobs = (k: Readonly<Record<string, number>>): string => Object.entries(k).map(([n, v]) => `${n}=${v}`).join(', ')
  const savings = c?.savings
    ? `<table><thead><tr><th>figure</th><th class="num">default settings</th><th class="num">chosen</th><th class="num">change</th><th class="num">interval</th></tr></thead><tbody>${(
        [
          ['J per good output token', c.savings.joulesPerGoodToken],
          ['$ per million good output tokens', c.savings.usdPerMillionGoodTokens],
          ['good output tokens/s per MW', c.savings.goodTokensPerSPerMW],
          ...(c.savings.joulesPerGoodTask ? [['J per good task', c.savings.joulesPerGoodTask] as const] : []),
          ...(c.savings.usdPerGoodTask ? [['$ per good task', c.savings.usdPerGoodTask] as const] : []),
        ] as const
      )
        .map(([label, s]) => `<tr><td>${e(label)}</td><td class="num">${e(formatNumber(s.baseline))}</td><td class="num">${e(formatNumber(s.chosen))}</td><td class="num">${e(fmtSaving(s.changeRel))}</td><td class="num">${s.interval ? e(`${fmtSaving(s.interval.low)} … ${fmtSaving(s.interval.high)}`) : ''}</td></tr>`)
        .join('')}</tbody></table><p class="table-caption">Default settings: ${e(c.baselineKey ?? 'n/a')} (hardware knobs at the values found before the sweep).</p>`
    : '<p class="empty">No savings: the default settings were not measured or no point was chosen.</p>'
  const chosen = c
    ? `<section class="cards" id="chosen"><div class="card"><div class="label">chosen operating point</div><div class="value">${e(knobs(c.knobs))}</div><div class="interval">${e(formatNumber(c.objective.value))} ${e(r.unit)}${c.objective.interval ? e(` (${formatNumber(c.objective.interval.low)} – ${formatNumber(c.objective.interval.high)})`) : ''}</div><div class="source">${e(c.confidence === 'distinct' ? 'stands clear of every other point\'s interval' : `within noise of ${c.tiedWith.join('; ')}`)}; SLO margins ${e(Object.entries(c.sloMargins).map(([k, v]) => `${k} ${formatPercent(v, 2)}`).join(', ') || 'n/a')}</div></div></section>`
    : '<section class="warnings"><h2>No operating point chosen</h2><p>No point met the SLO and validity rules.</p></section>'
  const rows = r.points
    .map((p) => {
      const hw = Object.entries(p.hardware).map(([n, a]) => `${n}: ${Object.values(a.enforced).map((v) => formatNumber(v)).join('/')}`).join('; ')
      return `<tr${c?.key === p.key ? ' class="chosen"' : ''}><td>${e(p.key)}${p.baseline ? ' (default)' : ''}</td><td class="num">${e(formatNumber(p.objective.value))}</td><td class="num">${e(p.objective.interval ? `${formatNumber(p.objective.interval.low)} – ${formatNumber(p.objective.interval.high)}` : '')}</td><td>${e(p.score.feasible ? 'yes' : `no (${formatPercent(p.score.violation, 2)})`)}</td><td class="num">${e(formatNumber(meanOf(p.repeats.map((f) => f.goodOutputTokensPerS))))}</td><td class="num">${e(formatNumber(meanOf(p.repeats.map((f) => f.avgPowerW))))}</td><td>${e(hw)}</td><td class="num">${e(p.throttledForPowerS === null ? '' : formatNumber(p.throttledForPowerS))}</td><td class="num">${e(p.settleS === null ? '' : formatNumber(p.settleS))}</td><td>${e(p.runIds.join(' '))}</td></tr>`
    })
    .join('\n')
  const chartHtml = charts.map((ch) => `<figure id="chart-${e(ch.id)}"><h3>${e(ch.title)}</h3>${ch.svg ?? `<p class="empty">${e(ch.empty ?? 'nothing to draw')}</p>`}<figcaption>${e(ch.caption)}</figcaption></figure>`).join('\n')
  const warnings = r.warnings.length ? `<section class="warnings"><h2>Warnings (${r.warnings.length})</h2><ul>${r.warnings.map((w) => `<li>${e(w)}</li>`).join('')}</ul></section>` : ''
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tokenwatt sweep ${e(r.id)}</title>
<style>${REPORT_CSS}tr.chosen td{font-weight:600;background:#f0fdf4}</style>
</head>
<body>
<main>
<header><h1>Sweep ${e(r.id)}</h1><p>${e(r.strategy)} over ${e(r.axes.map((a) => `${a.name} (${a.values.length})`).join(' × '))}: ${r.points.filter((p) => !p.baseline).length} of ${r.gridPoints} grid points measured, objective ${e(r.objective)}</p><div class="meta"><span class="${r.status === 'complete' ? 'badge' : 'badge bad'}">${e(r.status)}</span>tokenwatt ${e(version)}</div></header>
${warnings}
${chosen}
<h2>Savings against the default settings</h2>
${savings}
<h2>Charts</h2>
${chartHtml}
<h2>Points</h2>
<table><thead><tr><th>knobs</th><th class="num">${e(r.unit)}</th><th class="num">interval</th><th>inside SLO</th><th class="num">good tok/s</th><th class="num">avg W</th><th>enforced</th><th class="num">throttled for power (s)</th><th class="num">settle (s)</th><th>runs</th></tr></thead><tbody>
${rows}
</tbody></table>
<p class="table-caption">Restored after the sweep: ${e(r.restored.map((x) => `${x.id} → ${x.value} ${x.unit}`).join('; ') || 'nothing was changed')}. Each run is stored; \`tokenwatt report RUN\` shows it.</p>
<footer>Generated by tokenwatt ${e(version)}. Self-contained: loads nothing from the network.</footer>
</main>
</body>
</html>
`
}
