import { writeFileSync } from 'node:fs'
import { renderCharts } from '../adapters/charts/vega-svg.js'
import { renderSweepHtml, sweepChartSpecs } from '../core/report/render-sweep.js'
import type { SweepResult } from '../core/sweep/sweep-result.js'
import { VERSION } from './version.js'

/** Writes the sweep's HTML report; a chart failure is a warning, never a lost sweep. */
export async function writeSweepReport(result: SweepResult, path: string, warn: (w: string) => void): Promise<void> {
  try {
    writeFileSync(path, renderSweepHtml(result, await renderCharts(sweepChartSpecs(result)), VERSION))
  } catch (e) {
    warn(`the sweep report could not be written (${(e as Error).message})`)
  }
}
