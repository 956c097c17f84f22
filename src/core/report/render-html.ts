import { escapeHtml as e } from './escape.js'
import { formatWithUnit } from './format.js'
import type { ReportFigure, ReportModel, ReportTable } from './report-model.js'

/** A chart ready to inline: SVG markup produced by the charts adapter, or why there is none. */
export interface RenderedChart {
  readonly id: string
  readonly title: string
  readonly caption: string
  /** Trusted markup from the charts adapter (it escapes data and rejects active content). */
  readonly svg: string | null
  readonly empty?: string
}

/** The report stylesheet, shared by the run report and the comparison page. */
export const REPORT_CSS = `
:root{--ink:#111827;--muted:#4b5563;--faint:#6b7280;--line:#e5e7eb;--bg:#f9fafb;--accent:#2563eb;--warn-bg:#fffbeb;--warn-line:#f59e0b}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif}
main{max-width:1080px;margin:0 auto;padding:32px 24px 48px}
header h1{font-size:24px;margin:0 0 4px;overflow-wrap:anywhere}
header p{margin:0;color:var(--muted);overflow-wrap:anywhere}
.meta{margin-top:8px;font-size:12px;color:var(--faint)}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;background:#dcfce7;color:#166534;margin-right:6px}
.badge.bad{background:#fee2e2;color:#991b1b}
h2{font-size:18px;margin:36px 0 12px;padding-bottom:6px;border-bottom:1px solid var(--line)}
.warnings{background:var(--warn-bg);border:1px solid var(--warn-line);border-radius:8px;padding:12px 16px;margin:20px 0}
.warnings h2{border:0;margin:0 0 6px;padding:0;font-size:15px}
.warnings ul{margin:0;padding-left:20px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:12px;margin-top:20px}
.card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:14px 16px;break-inside:avoid}
.card .label{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.card .value{font-size:24px;font-weight:600;margin:4px 0 2px;font-variant-numeric:tabular-nums}
.card .interval{font-size:12px;color:var(--muted)}
.card .source{font-size:12px;color:var(--faint);overflow-wrap:anywhere}
.card .boundary{display:inline-block;font-size:11px;padding:0 6px;border-radius:4px;background:#eff6ff;color:#1e40af;margin-right:4px}
figure{background:#fff;border:1px solid var(--line);border-radius:10px;margin:0 0 16px;padding:16px;break-inside:avoid}
figure h3{margin:0 0 8px;font-size:15px}
figure svg{display:block;max-width:100%;height:auto}
figcaption{font-size:12px;color:var(--muted);margin-top:8px}
.empty{color:var(--faint);font-style:italic;padding:24px 0}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid var(--line);border-radius:10px;overflow:hidden;font-variant-numeric:tabular-nums}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top;overflow-wrap:break-word}
th{background:#f3f4f6;font-weight:600;font-size:12px;color:var(--muted)}
td.num,th.num{text-align:right;white-space:nowrap}
tr:last-child td{border-bottom:0}
.table-caption{font-size:12px;color:var(--muted);margin:6px 0 18px}
h3.table-title{font-size:15px;margin:20px 0 8px}
dl{display:grid;grid-template-columns:180px 1fr;gap:4px 16px;background:#fff;border:1px solid var(--line);border-radius:10px;padding:14px 16px;margin:0}
dt{color:var(--muted)}
dd{margin:0;overflow-wrap:anywhere}
details{margin-top:12px}
pre{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px;overflow:auto;font-size:12px}
footer{margin-top:40px;font-size:12px;color:var(--faint)}
td.win{background:#ecfdf5;font-weight:600}
.sig{font-size:11px;color:var(--faint)}
@media print{body{background:#fff}main{padding:0}figure,.card,table{border-color:#d1d5db}}
`

function card(f: ReportFigure): string {
  const interval = f.interval ? `<div class="interval">interval ${e(formatWithUnit(f.interval.low, f.unit))} – ${e(formatWithUnit(f.interval.high, f.unit))}</div>` : ''
  const boundary = f.boundary ? `<span class="boundary">${e(f.boundary)}</span>` : ''
  return `<div class="card" data-metric="${e(f.id)}"><div class="label">${e(f.label)}</div><div class="value">${e(f.text)}</div>${interval}<div class="source">${boundary}${e(f.source)}</div></div>`
}

function table(t: ReportTable): string {
  const num = new Set(t.numeric)
  const head = t.columns.map((c, i) => `<th${num.has(i) ? ' class="num"' : ''}>${e(c)}</th>`).join('')
  const body = t.rows.map((r) => `<tr>${r.map((c, i) => `<td${num.has(i) ? ' class="num"' : ''}>${e(c)}</td>`).join('')}</tr>`).join('\n')
  return `<h3 class="table-title" id="table-${e(t.id)}">${e(t.title)}</h3>\n<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>\n<p class="table-caption">${e(t.caption)}</p>`
}

function chart(c: RenderedChart): string {
  const body = c.svg ?? `<p class="empty">${e(c.empty ?? 'nothing to draw')}</p>`
  return `<figure id="chart-${e(c.id)}"><h3>${e(c.title)}</h3>${body}<figcaption>${e(c.caption)}</figcaption></figure>`
}

/**
 * One self-contained HTML file: inline CSS, inline SVG, no script and a Content-Security-Policy that
 * forbids loading anything, so it opens offline and a hostile string cannot run even if one slipped
 * through. Every model string is escaped here; chart SVG comes escaped from the charts adapter.
 */
export function renderHtml(model: ReportModel, charts: readonly RenderedChart[]): string {
  const tables = new Map(model.tables.map((t) => [t.id, t]))
  const pick = (...ids: string[]): string => ids.flatMap((id) => { const t = tables.get(id); return t ? [table(t)] : [] }).join('\n')
  const chartById = new Map(charts.map((c) => [c.id, c]))
  const pickChart = (...ids: string[]): string => ids.flatMap((id) => { const c = chartById.get(id); return c ? [chart(c)] : [] }).join('\n')
  const statusClass = model.run.status === 'complete' ? 'badge' : 'badge bad'
  const warnings = model.warnings.length > 0 ? `<section class="warnings" id="warnings"><h2>Warnings (${model.warnings.length})</h2><ul>${model.warnings.map((w) => `<li>${e(w)}</li>`).join('')}</ul></section>` : ''
  const hasCost = model.cost !== null
  const invalid =
    model.run.validity === 'invalid'
      ? `<section class="warnings" id="invalid"><h2>Invalid run: do not quote these figures</h2><ul>${model.run.invalidReasons.map((r) => `<li>${e(r)}</li>`).join('')}</ul></section>\n`
      : ''
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="tokenwatt ${e(model.run.toolVersion)}">
<title>${e(model.title)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
<header>
<h1>${e(model.title)}</h1>
<p>${e(model.subtitle)}</p>
<div class="meta"><span class="${statusClass}">${e(model.run.status)}</span>${model.run.validity === 'invalid' ? '<span class="badge bad">invalid</span>' : ''}run ${e(model.run.id)} · tokenwatt ${e(model.run.toolVersion)}</div>
</header>
${invalid}${warnings}
<section class="cards" id="headline">
${model.headline.map(card).join('\n')}
</section>
<h2>Throughput and latency</h2>
${pickChart('load', 'latency')}
${pick('latency', 'requests')}
${tables.has('tasks') ? `<h2>Tasks</h2>\n${pick('tasks', 'tasks-by-turn')}` : ''}
<h2>Power and energy</h2>
${pickChart('power', 'energy')}
${pick('energy-levels', 'energy-by-node', 'energy-by-rack', 'meters', 'efficiency', 'phases')}
<h2>Cost</h2>
${hasCost ? `${pickChart('cost')}\n${pick('cost', 'cost-per-token', 'cost-assumptions', 'price-sheet')}` : '<p class="empty">No cost model configured: pass --preset NAME, --usd-per-accelerator-hour X or a cost: section to price this run.</p>'}
<h2>Run and provenance</h2>
<dl>
${model.provenance.map((p) => `<dt>${e(p.label)}</dt><dd>${e(p.value)}</dd>`).join('\n')}
</dl>
<details><summary>Resolved configuration (secrets removed)</summary><pre>${e(model.config)}</pre></details>
<footer>Generated by tokenwatt ${e(model.run.toolVersion)} from run ${e(model.run.id)}. This file is self-contained: it loads nothing from the network. Figures are over the steady window unless a caption says otherwise.</footer>
</main>
</body>
</html>
`
}
