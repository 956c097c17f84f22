import Table from 'cli-table3'
import type { SweepResult } from '../core/sweep/sweep-result.js'

function fmt(v: number | null | undefined, digits = 3): string {
  return v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : Number(v.toPrecision(digits)).toString()
}

function pct(v: number | null): string {
  return v === null ? 'n/a' : `${v > 0 ? '+' : ''}${(v * 100).toFixed(1)}%`
}

function mean(xs: readonly (number | null)[]): number | null {
  const k = xs.filter((x): x is number => x !== null)
  return k.length ? k.reduce((a, b) => a + b, 0) / k.length : null
}

/** The terminal view of a sweep: every point, the chosen one with its SLO margins, and the savings. */
export function renderSweepSummary(r: SweepResult): string {
  const lines: string[] = []
  const measured = r.points.filter((p) => !p.baseline).length
  lines.push(`sweep ${r.id}  ${r.status}  ${r.strategy}: ${measured} of ${r.gridPoints} grid points, objective ${r.objective} (${r.unit})`)
  const t = new Table({ head: ['point', r.unit, 'interval', 'SLO', 'good tok/s', 'avg W', 'tok/s/user', 'throttled s', 'settle s'], style: { head: [], border: [] } })
  for (const p of r.points) {
    const mark = r.chosen?.key === p.key ? '* ' : p.baseline ? '= ' : '  '
    t.push([
      `${mark}${p.key}`,
      fmt(p.objective.value),
      p.objective.interval ? `${fmt(p.objective.interval.low)}–${fmt(p.objective.interval.high)}` : 'n/a',
      p.score.feasible ? 'ok' : `miss ${(p.score.violation * 100).toFixed(0)}%`,
      fmt(mean(p.repeats.map((f) => f.goodOutputTokensPerS))),
      fmt(mean(p.repeats.map((f) => f.avgPowerW))),
      fmt(mean(p.repeats.map((f) => f.interactivityTokPerS))),
      fmt(p.throttledForPowerS),
      fmt(p.settleS),
    ])
  }
  lines.push(t.toString())
  lines.push('* the chosen point   = the default settings (baseline of the savings)')
  const c = r.chosen
  if (!c) lines.push('no operating point chosen: no point met the SLO and validity rules')
  else {
    const margins = Object.entries(c.sloMargins).map(([k, v]) => `${k} ${(v * 100).toFixed(1)}% headroom`).join(', ')
    lines.push(`chosen: ${c.key}: ${fmt(c.objective.value)} ${r.unit}${c.objective.interval ? ` (${fmt(c.objective.interval.low)}–${fmt(c.objective.interval.high)})` : ''}${margins ? `; SLO ${margins}` : ''}`)
    if (c.confidence === 'within-noise') lines.push(`  within noise of: ${c.tiedWith.join('; ')} (more --repeats would separate them)`)
    if (c.savings) {
      const s = c.savings
      lines.push(`savings vs default settings (${c.baselineKey}):`)
      lines.push(`  J per good token   ${fmt(s.joulesPerGoodToken.baseline)} → ${fmt(s.joulesPerGoodToken.chosen)} (${pct(s.joulesPerGoodToken.changeRel)}${s.joulesPerGoodToken.interval ? `, ${pct(s.joulesPerGoodToken.interval.low)} … ${pct(s.joulesPerGoodToken.interval.high)}` : ''})`)
      lines.push(`  $ per M good tokens ${fmt(s.usdPerMillionGoodTokens.baseline)} → ${fmt(s.usdPerMillionGoodTokens.chosen)} (${pct(s.usdPerMillionGoodTokens.changeRel)})`)
      lines.push(`  good tok/s per MW  ${fmt(s.goodTokensPerSPerMW.baseline)} → ${fmt(s.goodTokensPerSPerMW.chosen)} (${pct(s.goodTokensPerSPerMW.changeRel)})`)
      for (const [label, t] of [['J per good task   ', s.joulesPerGoodTask], ['$ per good task   ', s.usdPerGoodTask]] as const)
        if (t) lines.push(`  ${label} ${fmt(t.baseline)} → ${fmt(t.chosen)} (${pct(t.changeRel)}${t.interval ? `, ${pct(t.interval.low)} … ${pct(t.interval.high)}` : ''})`)
      const b = s.goodTokensPerSPerMW.baseline
      const ch = s.goodTokensPerSPerMW.chosen
      const cap = c.knobs['gpu.power-limit-w']
      if (b !== null && ch !== null) lines.push(`  at site scale: every provisioned MW serves ${fmt(ch - b)} more good tok/s at the chosen point; size a site with \`tokenwatt plan --from ${r.id} --site-mw N${cap !== undefined ? ` --power-cap-w ${cap}` : ''}\``)
    }
  }
  for (const x of r.restored) lines.push(`restored ${x.id} to ${x.value} ${x.unit}`)
  for (const w of r.warnings) lines.push(`warning: ${w}`)
  return `${lines.join('\n')}\n`
}
