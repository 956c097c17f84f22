/**
 * Per-request records built from another tool's per-request timestamps, in the record shape bench
 * stores, so report percentiles, SLO re-judging and compare read an imported run the way they read
 * a benchmarked one. Pure.
 */
import { interTokenGapsNs, latencySamples } from '../analysis/request-metrics.js'
import type { RequestError, RequestRecord } from '../records.js'
import type { ImportedRun } from './imported-run.js'

export interface ImportedRequest {
  readonly seq: number
  /** ns from the run's start. */
  readonly sentAtNs: number
  /**
   * Content-chunk arrival times (ns from the run's start). Tools that keep only the first and last
   * token give two: the record then carries the first token, then the rest in one step, so TTFT,
   * TPOT and E2E are exact and the inter-token gap is the request's mean.
   */
  readonly chunkAtNs: readonly number[]
  /** Tokens each chunk carried; same length as chunkAtNs. */
  readonly chunkTokens: readonly number[]
  readonly lastByteAtNs: number | null
  readonly inputTokens: number | null
  readonly outputTokens: number | null
  readonly tokenSource: 'server-usage' | 'client-count'
  readonly error: RequestError | null
}

export function importedRecord(r: ImportedRequest): RequestRecord {
  return {
    seq: r.seq,
    phase: 'measure',
    userId: null,
    scheduledAtNs: null,
    sentAtNs: r.sentAtNs,
    headersAtNs: null,
    chunkAtNs: r.chunkAtNs,
    chunkTokens: r.chunkTokens,
    lastByteAtNs: r.lastByteAtNs,
    targetInputTokens: null,
    targetOutputTokens: null,
    inputTokens: r.inputTokens,
    outputTokens: r.outputTokens,
    tokenSource: r.tokenSource,
    finishReason: null,
    error: r.error,
  }
}

/**
 * First token, then the remaining `outputTokens − 1` in one step at the last token: what a tool that
 * records only first/last token times (GuideLLM, AIPerf records) says about a request.
 */
export function firstLastChunks(firstNs: number | null, lastNs: number | null, outputTokens: number): { chunkAtNs: number[]; chunkTokens: number[] } {
  if (firstNs === null || outputTokens <= 0) return { chunkAtNs: [], chunkTokens: [] }
  if (lastNs === null || outputTokens === 1 || lastNs <= firstNs) return { chunkAtNs: [firstNs], chunkTokens: [outputTokens] }
  return { chunkAtNs: [firstNs, lastNs], chunkTokens: [1, outputTokens - 1] }
}

/** A request failure as data: 429 is rate limiting, 499 (client cancelled) an abort, other codes HTTP status. */
export function importedError(code: number | null, message: string): RequestError {
  if (code === 429) return { kind: 'rate_limited', status: 429, message }
  if (code === 499) return { kind: 'aborted', status: 499, message }
  return code !== null && code >= 100 ? { kind: 'http_status', status: code, message } : { kind: 'http_status', message }
}

/** The latency samples (ms) of the successful records, as DESIGN.md §4 defines each figure. */
export function samplesFromRecords(records: readonly RequestRecord[]): ImportedRun['samples'] {
  const ok = records.filter((r) => r.error === null)
  const lat = latencySamples(ok)
  const itlNs: number[] = []
  for (const r of ok) interTokenGapsNs(r, itlNs)
  return {
    ttftMs: lat.ttftMs,
    tpotMs: lat.tpotMs,
    itlMs: itlNs.map((x) => x / 1e6),
    e2eMs: lat.e2eMs,
    inputTokens: ok.flatMap((r) => (r.inputTokens === null ? [] : [r.inputTokens])),
    outputTokens: ok.map((r) => r.outputTokens ?? r.chunkTokens.reduce((a, b) => a + b, 0)),
  }
}
