import { computeCost, type CostResult } from '../core/economics/compute-cost.js'
import { NotFoundError } from '../core/errors.js'
import type { PowerSample, RequestRecord } from '../core/records.js'
import { costResultOf } from '../core/report/report-model.js'
import type { ResultsStore } from '../core/store.js'
import type { RunSummary } from '../core/summary.js'
import type { CostOptions } from './cost-options.js'
import { costConfigFor } from './run-cost.js'

export interface StoredRun {
  readonly summary: RunSummary
  readonly requests: RequestRecord[]
  readonly powerSamples: PowerSample[]
  /** Priced with the cost flags over the run's own cost: section, else the stored cost section. */
  readonly cost: CostResult | null
  readonly costWarnings: readonly string[]
}

/** Reads a finished run (id, prefix or "latest") and prices it as the cost flags say. */
export function loadStoredRun(store: ResultsStore, run: string, costOpts: CostOptions = {}, extraCost?: unknown, withSamples = false): StoredRun {
  const id = store.resolveRunId(run)
  const summary = store.getSummary(id)
  if (!summary) throw new NotFoundError(`run ${id} has no summary: it did not finish`, { hint: `its raw records can still be exported: tokenwatt runs export ${id}` })
  const cfg = costConfigFor(summary, costOpts, extraCost)
  const priced = cfg ? computeCost(cfg, summary) : null
  return {
    summary,
    requests: store.getRequests(id),
    powerSamples: withSamples ? store.getPowerSamples(id) : [],
    cost: priced ? priced.cost : costResultOf(summary),
    costWarnings: priced ? priced.warnings : [],
  }
}
