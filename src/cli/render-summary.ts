import Table from 'cli-table3'
import type { PhaseFigure, PhasesSection } from '../core/analysis/energy/phase-attribution.js'
import type { RunSummary, Stats } from '../core/summary.js'

/**
 * The terminal summary of a run. Every number says what it is and where it is measured; figures that
 * could not be measured print as "n/a" and their warning follows the table.
 */
export function renderSummary(s: RunSummary, width = 100): string {
  const lines: string[] = []
  lines.push(`run ${s.id}  ${s.status}${s.validity?.verdict === 'invalid' ? '  INVALID' : ''}  ${s.target.model} @ ${s.target.endpoint} (${s.target.api})`)
  for (const reason of s.validity?.verdict === 'invalid' ? s.validity.reasons : []) lines.push(`INVALID: ${reason}; do not quote these figures`)
  lines.push(
    `window ${s.window.startS.toFixed(2)}–${s.window.endS.toFixed(2)} s (${s.window.durationS.toFixed(2)} s, ${s.window.method}); ` +
      `requests ${s.requests.succeeded}/${s.requests.total} ok, ${s.requests.failed} failed${s.requests.aborted ? `, ${s.requests.aborted} cancelled by Ctrl-C` : ''}, ${s.requests.inWindow} ended in window`,
  )
  const t = new Table({ head: ['metric', 'mean', 'p50', 'p90', 'p99', 'max'], style: { head: [], border: [] } })
  const row = (name: string, st: Stats, digits = 1): string[] => [name, ...[st.mean, st.p50, st.p90, st.p99, st.max].map((v) => fmt(v, digits))]
  t.push(row('TTFT (ms)', s.latency.ttftMs), row('ITL (ms)', s.latency.itlMs, 2), row('TPOT (ms)', s.latency.tpotMs, 2), row('E2E (ms)', s.latency.e2eMs), row('interactivity (tok/s/user)', s.latency.interactivityTokPerS))
  if (s.load.scheduleLagMs.count > 0) t.push(row('schedule lag (ms)', s.load.scheduleLagMs, 2))
  lines.push(t.toString())
  const k = new Table({ style: { head: [], border: [] }, wordWrap: true, wrapOnWordBoundary: true, colWidths: [28, Math.max(40, Math.min(width, 120) - 31)] })
  k.push(
    { 'output throughput': `${fmt(s.throughput.outputTokensPerS, 1)} tok/s` },
    { 'total throughput': `${fmt(s.throughput.totalTokensPerS, 1)} tok/s (input + output)` },
    { 'request throughput': `${fmt(s.throughput.requestsPerS, 3)} req/s` },
    { tokens: `${fmt(s.tokens.input, 0)} in, ${fmt(s.tokens.output, 0)} out in window (source: ${s.tokens.source})` },
    { 'input tokens/request': `${fmt(s.tokens.inputPerRequest.mean, 1)} mean (target ${fmt(s.tokens.targetInputMean, 1)})` },
  )
  if (s.slo.attainment !== null) {
    const bounds = [s.slo.ttftMs !== undefined ? `TTFT ≤ ${s.slo.ttftMs} ms` : '', s.slo.tpotMs !== undefined ? `TPOT ≤ ${s.slo.tpotMs} ms` : '', s.slo.e2eMs !== undefined ? `E2E ≤ ${s.slo.e2eMs} ms` : '']
      .filter(Boolean)
      .join(', ')
    k.push(
      { SLO: `${bounds}: ${(s.slo.attainment * 100).toFixed(1)}% attained, ${s.slo.passed ? 'PASS' : 'FAIL'}` },
      { goodput: `${fmt(s.slo.goodputRequestsPerS, 3)} req/s, ${fmt(s.slo.goodOutputTokensPerS, 1)} good tok/s` },
    )
  }
  if (s.power) {
    k.push({ [`power @ ${s.power.boundary}`]: `${fmt(s.power.avgW, 1)} W avg, ${fmt(s.power.energyJ, 1)} J in window (measured: ${s.power.measured.join(', ') || 'none'}; modeled: ${s.power.modeled.join(', ') || 'none'})` })
    for (const [by, sites] of [['node', s.power.byNode], ['rack', s.power.byRack]] as const) {
      if (sites === undefined) continue
      const parts = sites.map((x) => `${x.name} ${fmt(x.avgW, 1)} W${x.source === 'modeled' ? ' (modeled)' : ''}`)
      k.push({ [`power by ${by}`]: parts.join(', ') })
    }
  }
  if (s.efficiency) {
    const e = s.efficiency
    const iv = e.interval ? ` [${fmt(e.interval.low, 4)}–${fmt(e.interval.high, 4)}]` : ''
    k.push(
      { [`energy/token @ ${e.boundary}`]: `${fmt(e.joulesPerOutputToken, 4)} J/output token${iv}` },
      { [`tokens/J @ ${e.boundary}`]: `${fmt(e.outputTokensPerJoule, 3)} output tok/J, ${fmt(e.totalTokensPerJoule, 3)} total tok/J` },
      { [`tok/s per MW @ ${e.boundary}`]: `${fmtBig(e.outputTokensPerSPerMW)} (measured draw), ${fmtBig(e.outputTokensPerSPerProvisionedMW)} (provisioned)` },
    )
    const p = e.phases as PhasesSection | undefined
    const fin = e.joulesPerInputToken as PhaseFigure | undefined
    const fout = e.joulesPerOutputTokenDecode as PhaseFigure | undefined
    if (p && fin && fout) {
      const f = (x: PhaseFigure): string => `${fmt(x.total, 4)} J (dynamic ${fmt(x.dynamic, 4)}${x.dynamicInterval ? ` [${fmt(x.dynamicInterval.low, 4)}–${fmt(x.dynamicInterval.high, 4)}]` : ''})`
      k.push({ [`energy by phase @ ${e.boundary}`]: `input token ${f(fin)}, output token (decode) ${f(fout)}; prefill ${(p.prefillEnergyShare * 100).toFixed(1)} % of energy, ${(p.prefillTimeShare * 100).toFixed(1)} % of request time${p.modelled ? ` — MODELLED: ${p.reason ?? ''}` : ''}` })
    }
  }
  if (s.cost) {
    k.push(
      { 'cost / M output tokens': `$${fmt(s.cost.usdPerMillionOutputTokens, 4)}` },
      { 'cost / M tokens (blended)': `$${fmt(s.cost.usdPerMillionTokensBlended, 4)}` },
    )
  }
  if (s.tasks) {
    const tk = s.tasks
    const at = tk.boundary ? ` @ ${tk.boundary}` : ''
    const turns = tk.byTurn.map((b) => `${b.turn}: ${fmt(b.ttftMs.p50, 1)} ms${b.prefixHitShare !== null ? ` (${(b.prefixHitShare * 100).toFixed(0)}% cached)` : ''}`).join(', ')
    k.push(
      { tasks: `${tk.inWindow} in window (${tk.completed}/${tk.started} completed, ${tk.failed} failed, ${tk.incomplete} cut short); ${fmt(tk.tasksPerS, 3)} tasks/s` },
      { [`energy/task${at}`]: tk.joulesPerTask === null ? 'n/a (no power meter)' : `${fmt(tk.joulesPerTask, 2)} J/task` },
      { 'cost/task': tk.usdPerTask === null ? 'n/a (no cost model)' : `$${fmt(tk.usdPerTask, 6)}` },
      { 'task latency (ms)': `${fmt(tk.latencyMs.p50, 1)} p50, ${fmt(tk.latencyMs.p90, 1)} p90, ${fmt(tk.latencyMs.max, 1)} max; ${fmt(tk.turnsPerTask.mean, 1)} turns, ${fmt(tk.inputTokensPerTask.mean, 0)} in / ${fmt(tk.outputTokensPerTask.mean, 0)} out tokens per task` },
      { 'task SLO': tk.slo.attainment === null ? 'no bound set' : `${(tk.slo.attainment * 100).toFixed(1)}% attained, ${fmt(tk.slo.goodTasksPerS, 3)} good tasks/s${tk.slo.goodTasksPerSPerMW !== null ? `, ${fmtBig(tk.slo.goodTasksPerSPerMW)} per MW${at}` : ''}` },
      { 'prefix-cache hits': tk.prefixHitShare === null ? 'n/a (server reported no cached tokens)' : `${(tk.prefixHitShare * 100).toFixed(1)}% of prompt tokens` },
      { 'TTFT p50 by turn': turns || 'n/a' },
    )
  }
  k.push({ client: `${s.client.connectionsOpened} connections (connect mean ${fmt(s.client.connectMs.mean, 2)} ms), CPU ${fmt(s.client.cpuUtilization, 2)} cores${s.client.chunkTimestamps ? `, chunks stamped at ${s.client.chunkTimestamps.source} (${s.client.chunkTimestamps.clock}${s.client.chunkTimestamps.fallback !== undefined ? `; not kernel-rx: ${s.client.chunkTimestamps.fallback}` : ''})` : ''}${s.client.limitedByClient ? ' — CLIENT-LIMITED' : ''}` })
  lines.push(k.toString())
  const errs = Object.entries(s.requests.errorsByKind).filter(([, n]) => n > 0)
  if (errs.length > 0) lines.push(`errors: ${errs.map(([kind, n]) => `${kind} ${n}`).join(', ')}`)
  for (const w of s.warnings) lines.push(`warning: ${w}`)
  return `${lines.join('\n')}\n`
}

export function fmt(v: number | null | undefined, digits: number): string {
  return v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits)
}

function fmtBig(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return 'n/a'
  return v >= 1e6 ? `${(v / 1e6).toFixed(3)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(2)}k` : v.toFixed(1)
}
