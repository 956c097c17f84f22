import { columnsToParquet } from '../adapters/export/parquet-columns.js'
import { renderCharts } from '../adapters/charts/vega-svg.js'
import type { CostConfig } from '../core/config/cost-schema.js'
import { computeCost } from '../core/economics/compute-cost.js'
import type { CurrentPrices } from '../core/economics/price-sheet.js'
import type { PowerSample, RequestRecord } from '../core/records.js'
import { buildChartSpecs } from '../core/report/chart-specs.js'
import { columnsToCsv, powerSampleColumns, requestColumns } from '../core/report/record-tables.js'
import { renderHtml } from '../core/report/render-html.js'
import { renderMarkdown } from '../core/report/render-markdown.js'
import { buildReportModel, type ReportModel } from '../core/report/report-model.js'
import type { RunSummary } from '../core/summary.js'

export const REPORT_FORMATS = ['html', 'md', 'json', 'csv', 'parquet'] as const
export type ReportFormat = (typeof REPORT_FORMATS)[number]

export const REPORT_EXTENSIONS: Readonly<Record<ReportFormat, string>> = { html: 'html', md: 'md', json: 'json', csv: 'csv', parquet: 'parquet' }

export interface ReportInput {
  readonly summary: RunSummary
  readonly requests: readonly RequestRecord[]
  readonly powerSamples: readonly PowerSample[]
  /** When given, the run is priced again with this cost config (flags over the stored config). */
  readonly cost?: CostConfig
  /** csv/parquet: which raw records to export. */
  readonly table?: 'requests' | 'power'
  /** The user's current prices, for the price sheet's margins. */
  readonly prices?: CurrentPrices
}

/** Builds the pure report model, re-pricing the run when a cost config is given. */
export function reportModelOf(input: ReportInput): ReportModel {
  const prices = input.prices ? { prices: input.prices } : {}
  if (!input.cost) return buildReportModel(input.summary, input.requests, input.powerSamples, prices)
  const { cost, warnings } = computeCost(input.cost, input.summary)
  return buildReportModel(input.summary, input.requests, input.powerSamples, { cost, costWarnings: warnings, ...prices })
}

/**
 * Renders a run in one format: a self-contained HTML page with SVG charts, Markdown for pull
 * requests, the report model as JSON (summary included), or the raw records as CSV or Parquet.
 * Shared by `report`, `bench` and `demo`.
 */
export async function renderReport(format: ReportFormat, input: ReportInput): Promise<string | Uint8Array> {
  if (format === 'csv' || format === 'parquet') {
    const columns = input.table === 'power' ? powerSampleColumns(input.powerSamples) : requestColumns(input.requests)
    return format === 'csv' ? columnsToCsv(columns) : columnsToParquet(columns)
  }
  const model = reportModelOf(input)
  if (format === 'md') return renderMarkdown(model)
  if (format === 'json') return `${JSON.stringify({ ...model, summary: input.summary }, null, 2)}\n`
  return renderHtml(model, await renderCharts(buildChartSpecs(model)))
}
