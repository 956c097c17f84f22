import type { CompareRow, RunComparison } from '../compare/compare-runs.js'
import type { MetricReading } from '../compare/metric-lookup.js'
import type { SloBounds } from '../compare/run-evidence.js'
import type { ChartSpec } from './chart-specs.js'
import { escapeHtml as e, escapeMarkdown as m } from './escape.js'
import { formatNumber, formatPercent, formatWithUnit } from './format.js'
import { REPORT_CSS, type RenderedChart } from './render-html.js'

/** A metric value with its unit; ratios (unit "1") as percentages. */
export function formatMetric(value: number | null, unit: string): string {
  if (unit === '1' || unit === 'ratio') return formatPercent(value)
  if (unit === 'USD/Mtok') return formatWithUnit(value, 'USD/M tokens')
  return formatWithUnit(value, unit)
}

function cell(r: MetricReading, unit: string): string {
  const half = r.interval && r.value ? (r.interval.high - r.interval.low) / 2 / Math.abs(r.value) : null
  return `${formatMetric(r.value, unit)}${half !== null ? ` ±${formatNumber(half * 100, 2)} %` : ''}`
}

/** The verdict of one row in words: who wins, by how much, against what uncertainty. */
export function verdictText(row: CompareRow, labels: readonly string[]): string {
  if (row.winner === null) return row.note ?? '—'
  const who = labels[row.winner] ?? `run ${row.winner + 1}`
  const margin = row.margin !== null ? `${formatNumber(row.margin * 100, 2)} %` : '?'
  const noise = row.noise !== null ? `noise ±${formatNumber(row.noise * 100, 2)} %` : 'no interval'
  const verdict = row.significant === true ? 'significant' : row.significant === false ? 'within noise' : 'uncertainty unknown'
  return `${who} by ${margin} (${noise}): ${verdict}`
}

export function sloText(b: SloBounds): string {
  const parts = [b.ttftMs !== undefined ? `TTFT ≤ ${b.ttftMs} ms` : null, b.tpotMs !== undefined ? `TPOT ≤ ${b.tpotMs} ms` : null, b.e2eMs !== undefined ? `E2E ≤ ${b.e2eMs} ms` : null].filter(Boolean)
  return parts.length > 0 ? parts.join(', ') : 'none'
}

/** The task SLO session runs were judged at, in words; null when no run is a session run. */
export function taskSloText(c: RunComparison): string | null {
  const t = c.taskSlo
  if (t === null) return null
  const parts = [Object.keys(c.slo.bounds).length > 0 ? 'every request of the task meets the SLO above' : null, t.taskLatencyMs !== null ? `the task ends within ${t.taskLatencyMs} ms (${t.source})` : null].filter(Boolean)
  return parts.length > 0 ? `Tasks judged at one task SLO: ${parts.join(' and ')}.` : 'Tasks: no task SLO (no request SLO and no task bound).'
}

/** Rows of the comparison as plain strings: metric, one cell per run, verdict. */
export function comparisonCells(c: RunComparison): { header: string[]; rows: string[][]; winners: (number | null)[] } {
  const labels = c.runs.map((r, i) => `#${i + 1}`)
  return {
    header: ['metric', ...c.runs.map((r, i) => `#${i + 1} ${r.label}`), 'winner (margin vs noise)'],
    rows: c.rows.map((row) => [row.metric.title + (row.readings.find((r) => r.boundary)?.boundary ? ` @ ${row.readings.find((r) => r.boundary)?.boundary}` : ''), ...row.readings.map((r) => cell(r, row.metric.unit)), verdictText(row, labels)]),
    winners: c.rows.map((r) => r.winner),
  }
}

export function renderCompareMarkdown(c: RunComparison): string {
  const t = comparisonCells(c)
  const out = [
    `# Comparison of ${c.runs.length} runs`,
    '',
    `Judged at one SLO: **${m(sloText(c.slo.bounds))}** (${m(c.slo.source)}). ± is the 95 % interval; a win is significant when its margin exceeds the runs' combined uncertainty.`,
    '',
    ...(taskSloText(c) !== null ? [m(taskSloText(c) as string), ''] : []),
  ]
  if (c.warnings.length > 0) out.push(...c.warnings.map((w) => `> ${m(w)}`), '')
  out.push(`| ${t.header.map(m).join(' | ')} |`, `| --- |${c.runs.map(() => ' ---: |').join('')} --- |`)
  t.rows.forEach((r, i) => {
    const w = t.winners[i]
    out.push(`| ${r.map((x, j) => (w !== null && w !== undefined && j === w + 1 ? `**${m(x)}**` : m(x))).join(' | ')} |`)
  })
  out.push('', '| run | model | server | power boundary | own SLO | attainment at common SLO |', '| --- | --- | --- | --- | --- | ---: |')
  c.runs.forEach((r, i) => out.push(`| #${i + 1} ${m(r.id)} | ${m(r.model)} | ${m(r.server ?? 'n/a')} | ${m(r.powerBoundary ?? 'none')} | ${m(sloText(r.sloOwn))} | ${formatPercent(r.sloCommon.attainment)} |`))
  out.push('')
  return out.join('\n')
}

/** Bar charts of the headline metrics, one bar per run with its 95 % interval. */
export function compareChartSpecs(c: RunComparison): ChartSpec[] {
  const wanted = ['output_token_throughput', 'output_tokens_per_joule', 'cost_per_million_output_tokens', 'time_to_first_token_p99']
  const specs: ChartSpec[] = []
  for (const id of wanted) {
    const row = c.rows.find((r) => r.metric.id === id)
    if (!row) continue
    const data = row.readings.flatMap((r, i) => (r.value === null ? [] : [{ run: `#${i + 1} ${c.runs[i]?.label ?? ''}`, value: r.value, low: r.interval?.low ?? r.value, high: r.interval?.high ?? r.value }]))
    if (data.length === 0) continue
    const y = { field: 'run', type: 'nominal', title: null, sort: data.map((d) => d.run), axis: { labelLimit: 260 } }
    specs.push({
      id: `cmp-${id}`,
      title: `${row.metric.title} (${row.metric.better} is better)`,
      caption: `${row.metric.unit}; bars: 95 % interval. ${verdictText(row, c.runs.map((_, i) => `#${i + 1}`))}.`,
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        width: 820,
        height: Math.max(60, 30 * data.length),
        background: 'white',
        padding: 8,
        config: { font: 'Helvetica, Arial, sans-serif', view: { stroke: null }, axis: { labelColor: '#374151', gridColor: '#e5e7eb', labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' } },
        data: { values: data },
        layer: [
          { mark: { type: 'bar', color: '#2563eb', height: { band: 0.6 } }, encoding: { y, x: { field: 'value', type: 'quantitative', title: row.metric.unit } } },
          { mark: { type: 'rule', color: '#111827' }, encoding: { y, x: { field: 'low', type: 'quantitative' }, x2: { field: 'high' } } },
        ],
      },
    })
  }
  return specs
}

/** A self-contained comparison page: the table with winners marked, the run list and bar charts. */
export function renderCompareHtml(c: RunComparison, charts: readonly RenderedChart[], toolVersion: string): string {
  const t = comparisonCells(c)
  const head = t.header.map((h, i) => `<th${i > 0 && i <= c.runs.length ? ' class="num"' : ''}>${e(h)}</th>`).join('')
  const body = t.rows
    .map((r, i) => `<tr>${r.map((x, j) => `<td${j > 0 && j <= c.runs.length ? ` class="num${t.winners[i] === j - 1 ? ' win' : ''}"` : ''}>${e(x)}</td>`).join('')}</tr>`)
    .join('\n')
  const runs = c.runs.map((r, i) => `<tr><td>#${i + 1}</td><td>${e(r.id)}</td><td>${e(r.model)}</td><td>${e(r.server ?? 'n/a')}</td><td>${e(r.powerBoundary ?? 'none')}</td><td>${e(sloText(r.sloOwn))}</td><td class="num">${e(formatPercent(r.sloCommon.attainment))}</td></tr>`).join('\n')
  const warnings = c.warnings.length > 0 ? `<section class="warnings"><h2>Warnings</h2><ul>${c.warnings.map((w) => `<li>${e(w)}</li>`).join('')}</ul></section>` : ''
  const figures = charts.map((ch) => `<figure id="chart-${e(ch.id)}"><h3>${e(ch.title)}</h3>${ch.svg ?? `<p class="empty">${e(ch.empty ?? '')}</p>`}<figcaption>${e(ch.caption)}</figcaption></figure>`).join('\n')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tokenwatt comparison of ${c.runs.length} runs</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
<header><h1>Comparison of ${c.runs.length} runs</h1><p>Judged at one SLO: ${e(sloText(c.slo.bounds))} (${e(c.slo.source)}). ± is the 95 % interval; a win is significant when its margin exceeds the runs' combined uncertainty.</p>${taskSloText(c) !== null ? `<p>${e(taskSloText(c) as string)}</p>` : ''}</header>
${warnings}
<h2>Side by side</h2>
<table><thead><tr>${head}</tr></thead><tbody>
${body}
</tbody></table>
<h3 class="table-title">Runs</h3>
<table><thead><tr><th></th><th>run</th><th>model</th><th>server</th><th>power boundary</th><th>own SLO</th><th class="num">attainment at common SLO</th></tr></thead><tbody>
${runs}
</tbody></table>
<h2>Charts</h2>
${figures}
<footer>Generated by tokenwatt ${e(toolVersion)}. Self-contained: loads nothing from the network.</footer>
</main>
</body>
</html>
`
}
