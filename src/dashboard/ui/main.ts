import { h, render } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { html } from 'htm/preact'
import uPlot from 'uplot'
import { getJson, streamEvents, token } from './api.js'
import { count, num } from './format.js'
import type { LiveSnapshot } from '../live-snapshot.js'

/**
 * The dashboard page: runs (bench, sweep points, monitor sessions, imported) listed and filtered by kind,
 * a run's figures and live view (SSE snapshots at 1 Hz: throughput, requests, latency, power per meter,
 * J per output token, drawn with uPlot while the run goes), a sweep's points, and two runs compared.
 * Every string from the store goes through preact's text nodes (escaped); no inline script or style.
 */
interface RunRow {
  readonly id: string
  readonly startedAt: string
  readonly status: string
  readonly model: string
  readonly endpoint: string
  readonly requests: number
  readonly kind: string
  readonly labels: Readonly<Record<string, string>>
}

type Snapshot = LiveSnapshot

interface Summary {
  readonly id: string
  readonly status: string
  readonly requests: { readonly total: number; readonly failed: number }
  readonly tokens: { readonly output: number }
  readonly throughput: { readonly outputTokensPerS: number }
  readonly latency: { readonly ttftMs: { readonly p50: number | null; readonly p99: number | null } }
  readonly efficiency: { readonly boundary: string; readonly joulesPerOutputToken: number | null; readonly outputTokensPerJoule: number | null } | null
  readonly power: { readonly avgW: number | null; readonly boundary: string } | null
  readonly cost: { readonly usdPerMillionOutputTokens: number | null } | null
}

type Route = { page: 'runs'; kind: string } | { page: 'run'; id: string } | { page: 'sweep'; id: string } | { page: 'compare'; a: string; b: string }

function route(): Route {
  const hash = location.hash.replace(/^#/, '').replace(/(^|&)token=[^&]*/, '')
  const [path = '', query = ''] = hash.split('?')
  const q = new URLSearchParams(query)
  const parts = path.split('/').filter(Boolean)
  if (parts[0] === 'run' && parts[1]) return { page: 'run', id: decodeURIComponent(parts[1]) }
  if (parts[0] === 'sweep' && parts[1]) return { page: 'sweep', id: decodeURIComponent(parts[1]) }
  if (parts[0] === 'compare') return { page: 'compare', a: q.get('a') ?? '', b: q.get('b') ?? '' }
  return { page: 'runs', kind: q.get('kind') ?? '' }
}

function Figure(p: { label: string; value: string; unit?: string; testid: string }) {
  return html`<div class="figure"><div class="label">${p.label}</div><div class="value" data-testid=${p.testid}>${p.value}</div>${p.unit ? html`<div class="unit">${p.unit}</div>` : null}</div>`
}

function Runs(p: { kind: string }) {
  const [runs, setRuns] = useState<RunRow[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [pick, setPick] = useState<string[]>([])
  useEffect(() => {
    getJson<{ runs: RunRow[] }>(`/api/runs${p.kind ? `?kind=${encodeURIComponent(p.kind)}` : ''}`).then((r) => setRuns(r.runs), (e: Error) => setError(e.message))
  }, [p.kind])
  if (error) return html`<p class="error">${error}</p>`
  if (!runs) return html`<p>loading…</p>`
  const kinds = ['', 'bench', 'monitor', 'imported']
  const sweeps = [...new Set(runs.map((r) => r.labels.sweep).filter((s): s is string => s !== undefined))]
  const toggle = (id: string): void => setPick((xs) => (xs.includes(id) ? xs.filter((x) => x !== id) : [...xs, id].slice(-2)))
  return html`<section>
    <nav class="kinds">${kinds.map((k) => html`<a class=${k === p.kind ? 'on' : ''} href=${k ? `#/?kind=${k}` : '#/'}>${k || 'all'}</a>`)}</nav>
    ${sweeps.length > 0 ? html`<p>Sweeps: ${sweeps.map((s) => html`<a class="sweep" href=${`#/sweep/${encodeURIComponent(s)}`}>${s}</a> `)}</p>` : null}
    ${pick.length === 2 ? html`<p><a data-testid="compare-link" href=${`#/compare?a=${encodeURIComponent(pick[0] ?? '')}&b=${encodeURIComponent(pick[1] ?? '')}`}>compare the two selected runs</a></p>` : html`<p class="hint">select two runs to compare them</p>`}
    <table data-testid="runs"><thead><tr><th></th><th>run</th><th>kind</th><th>status</th><th>model</th><th>endpoint</th><th class="num">requests</th><th>started</th></tr></thead>
    <tbody>${runs.map(
      (r) => html`<tr><td><input type="checkbox" checked=${pick.includes(r.id)} onChange=${() => toggle(r.id)} /></td><td><a href=${`#/run/${encodeURIComponent(r.id)}`}>${r.id}</a></td><td>${r.labels.sweep ? `sweep point` : r.kind}</td><td>${r.status}</td><td>${r.model}</td><td>${r.endpoint}</td><td class="num">${count(r.requests)}</td><td>${r.startedAt}</td></tr>`,
    )}</tbody></table>
  </section>`
}

/** uPlot chart of one or two series over seconds, redrawn as points arrive. */
function Chart(p: { title: string; series: readonly { label: string; values: readonly (number | null)[] }[]; xs: readonly number[]; testid: string }) {
  const el = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  useEffect(() => {
    if (!el.current) return
    const data = [p.xs, ...p.series.map((s) => s.values)] as unknown as uPlot.AlignedData
    if (!plot.current) {
      plot.current = new uPlot({ title: p.title, width: 560, height: 220, scales: { x: { time: false } }, series: [{ label: 's' }, ...p.series.map((s, i) => ({ label: s.label, stroke: i === 0 ? '#2563eb' : '#dc2626', scale: i === 0 ? 'y' : 'y2' }))], axes: [{}, { scale: 'y' }, ...(p.series.length > 1 ? [{ scale: 'y2', side: 1 }] : [])] }, data, el.current)
    } else plot.current.setData(data)
  })
  useEffect(() => () => plot.current?.destroy(), [])
  return html`<div class="chart" data-testid=${p.testid} ref=${el}></div>`
}

function Run(p: { id: string }) {
  const [summary, setSummary] = useState<Summary | null>(null)
  const [snap, setSnap] = useState<Snapshot | null>(null)
  const [hist, setHist] = useState<{ xs: number[]; tps: (number | null)[]; w: (number | null)[] }>({ xs: [], tps: [], w: [] })
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    const stop = new AbortController()
    const loadSummary = (): void => void getJson<{ summary: Summary | null }>(`/api/runs/${encodeURIComponent(p.id)}`).then((r) => setSummary(r.summary), (e: Error) => setError(e.message))
    loadSummary()
    streamEvents(
      `/api/runs/${encodeURIComponent(p.id)}/stream`,
      (event, data) => {
        if (event === 'end') return loadSummary()
        if (event !== 'snapshot') return
        const s = JSON.parse(data) as Snapshot
        setSnap(s)
        setHist((h0) => ({ xs: [...h0.xs, s.atS], tps: [...h0.tps, s.outputTokensPerSLast10s], w: [...h0.w, s.meters[0]?.avgW ?? null] }))
      },
      stop.signal,
    ).catch((e: Error) => {
      if (!stop.signal.aborted) setError(e.message)
    })
    return () => stop.abort()
  }, [p.id])
  if (error) return html`<p class="error">${error}</p>`
  const live = snap?.status === 'running'
  const s = summary
  return html`<section>
    <h2>Run <span data-testid="run-id">${p.id}</span> <span class=${`status ${snap?.status ?? s?.status ?? ''}`} data-testid="status">${snap?.status ?? s?.status ?? '…'}</span></h2>
    ${live || !s
      ? html`<div class="figures live">
          ${snap?.source === 'server-counters'
            ? h(Figure, { label: 'tokens from', value: 'server counters', testid: 'live-source' })
            : html`${h(Figure, { label: 'requests done', value: count(snap?.requestsDone), testid: 'live-requests' })}${h(Figure, { label: 'failed', value: count(snap?.requestsFailed), testid: 'live-failed' })}`}
          ${h(Figure, { label: 'output tokens', value: count(snap?.outputTokens), testid: 'live-output-tokens' })}
          ${h(Figure, { label: 'output tok/s (last 10 s)', value: num(snap?.outputTokensPerSLast10s), testid: 'live-tps' })}
          ${h(Figure, { label: 'TTFT p50', value: num(snap?.ttftMsP50), unit: 'ms', testid: 'live-ttft' })}
          ${(snap?.meters ?? []).map((m) => h(Figure, { label: `power ${m.id} @ ${m.boundary}`, value: `${num(m.avgW)} W, ${num(m.joulesPerOutputToken, 4)} J/token`, testid: `live-meter-${m.id}` }))}
        </div>`
      : html`<div class="figures">
          ${h(Figure, { label: 'requests', value: count(s.requests.total), testid: 'requests' })}
          ${h(Figure, { label: 'failed', value: count(s.requests.failed), testid: 'failed' })}
          ${h(Figure, { label: 'output tokens (window)', value: count(s.tokens.output), testid: 'output-tokens' })}
          ${h(Figure, { label: 'output tok/s', value: num(s.throughput.outputTokensPerS), testid: 'tps' })}
          ${h(Figure, { label: 'TTFT p50 / p99', value: `${num(s.latency.ttftMs.p50)} / ${num(s.latency.ttftMs.p99)}`, unit: 'ms', testid: 'ttft' })}
          ${h(Figure, { label: `J per output token${s.efficiency ? ` @ ${s.efficiency.boundary}` : ''}`, value: num(s.efficiency?.joulesPerOutputToken, 4), unit: 'J/token', testid: 'j-per-token' })}
          ${h(Figure, { label: 'average power', value: num(s.power?.avgW), unit: 'W', testid: 'power' })}
          ${h(Figure, { label: '$ per M output tokens', value: num(s.cost?.usdPerMillionOutputTokens), testid: 'usd-per-mtok' })}
        </div>`}
    ${hist.xs.length > 1 ? h(Chart, { title: 'output tok/s and power', xs: hist.xs, series: [{ label: 'tok/s', values: hist.tps }, { label: 'W', values: hist.w }], testid: 'live-chart' }) : null}
  </section>`
}

function Sweep(p: { id: string }) {
  const [points, setPoints] = useState<{ run: RunRow; summary: Summary | null }[] | null>(null)
  useEffect(() => {
    let alive = true
    const load = async (): Promise<void> => {
      const { runs } = await getJson<{ runs: RunRow[] }>('/api/runs')
      const mine = runs.filter((r) => r.labels.sweep === p.id)
      const withSummaries = await Promise.all(mine.map(async (run) => ({ run, summary: (await getJson<{ summary: Summary | null }>(`/api/runs/${encodeURIComponent(run.id)}`)).summary })))
      if (alive) setPoints(withSummaries)
    }
    void load()
    const timer = setInterval(() => void load(), 2000) // the frontier grows point by point while the sweep runs
    return () => {
      alive = false
      clearInterval(timer)
    }
  }, [p.id])
  if (!points) return html`<p>loading…</p>`
  const done = points.filter((x) => x.summary?.efficiency?.joulesPerOutputToken != null)
  const best = done.reduce<(typeof done)[number] | null>((b, x) => (b === null || (x.summary?.efficiency?.joulesPerOutputToken ?? Infinity) < (b.summary?.efficiency?.joulesPerOutputToken ?? Infinity) ? x : b), null)
  return html`<section><h2>Sweep <span data-testid="sweep-id">${p.id}</span></h2>
    <p>${points.length} point(s) measured${best ? html`; lowest J per output token: <strong>${best.run.labels['sweep.point'] ?? best.run.id}</strong>` : null}</p>
    <table data-testid="sweep-points"><thead><tr><th>point</th><th>run</th><th class="num">J/token</th><th class="num">tok/s</th><th class="num">W</th><th>status</th></tr></thead>
    <tbody>${points.map((x) => html`<tr class=${best === x ? 'chosen' : ''}><td>${x.run.labels['sweep.point'] ?? ''}</td><td><a href=${`#/run/${encodeURIComponent(x.run.id)}`}>${x.run.id}</a></td><td class="num">${num(x.summary?.efficiency?.joulesPerOutputToken, 4)}</td><td class="num">${num(x.summary?.throughput.outputTokensPerS)}</td><td class="num">${num(x.summary?.power?.avgW)}</td><td>${x.run.status}</td></tr>`)}</tbody></table>
  </section>`
}

interface Comparison {
  readonly runs: readonly { readonly id: string; readonly label: string }[]
  readonly rows: readonly { readonly metric: { readonly title: string; readonly unit: string }; readonly readings: readonly { readonly value: number | null }[]; readonly winner: number | null; readonly significant: boolean | null }[]
}

function Compare(p: { a: string; b: string }) {
  const [c, setC] = useState<Comparison | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    getJson<Comparison>(`/api/compare?run=${encodeURIComponent(p.a)}&run=${encodeURIComponent(p.b)}`).then(setC, (e: Error) => setError(e.message))
  }, [p.a, p.b])
  if (error) return html`<p class="error">${error}</p>`
  if (!c) return html`<p>loading…</p>`
  return html`<section><h2>Compare</h2><table data-testid="compare"><thead><tr><th>metric</th>${c.runs.map((r) => html`<th class="num">${r.label}</th>`)}<th>winner</th></tr></thead>
  <tbody>${c.rows.map((row) => html`<tr><td>${row.metric.title} (${row.metric.unit})</td>${row.readings.map((r, i) => html`<td class=${`num${row.winner === i ? ' winner' : ''}`}>${num(r.value, 4)}</td>`)}<td>${row.winner === null ? '—' : `#${row.winner + 1}${row.significant === false ? ' (within noise)' : ''}`}</td></tr>`)}</tbody></table></section>`
}

function App() {
  const [r, setR] = useState<Route>(route())
  useEffect(() => {
    const on = (): void => setR(route())
    addEventListener('hashchange', on)
    return () => removeEventListener('hashchange', on)
  }, [])
  const page = r.page === 'run' ? h(Run, { id: r.id }) : r.page === 'sweep' ? h(Sweep, { id: r.id }) : r.page === 'compare' ? h(Compare, { a: r.a, b: r.b }) : h(Runs, { kind: r.kind })
  return html`<header><a href="#/"><strong>tokenwatt</strong></a> dashboard</header><main>${page}</main>`
}

token()
const root = document.getElementById('app')
if (root) render(h(App, {}), root)
