import type { Agent } from 'undici'
import type { Clock } from '../../../core/ports.js'
import type { ClockOffsetEstimator } from '../remote/clock-offset.js'
import { createTargetDispatcher, timedRequest, type TargetTls } from '../remote/http-target.js'
import type { Labels } from './presets.js'

/**
 * The Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`): the `{status, data, error}`
 * envelope, matrix and vector results with string values, and the server's clock read off each
 * instant query's evaluation time (exact to the millisecond) into a clock-offset estimate.
 */

/** A query the server refused or could not run (bad PromQL, timeout, auth). */
export class PrometheusApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorType: string,
    detail: string,
  ) {
    super(`HTTP ${status}${errorType ? ` ${errorType}` : ''}: ${detail}`)
    this.name = 'PrometheusApiError'
  }
}

export interface RawSeries {
  readonly labels: Labels
  /** Samples as [unix seconds, value]. */
  readonly samples: readonly (readonly [number, number])[]
}

export interface PrometheusApiOptions {
  readonly baseUrl: URL
  readonly tls: TargetTls
  readonly timeoutMs: number
  readonly clock: Clock
  readonly offset: ClockOffsetEstimator
  /** `Authorization` header value, when the server needs one. */
  readonly authorization: string | undefined
}

export class PrometheusApi {
  private readonly dispatcher: Agent

  constructor(private readonly o: PrometheusApiOptions) {
    this.dispatcher = createTargetDispatcher(o.tls, o.timeoutMs)
  }

  /**
   * Instant query at the server's "now", or at `atS` (Unix s) when given; a range selector (`m[30s]`)
   * returns raw scrape samples.
   */
  async instant(query: string, atS?: number): Promise<RawSeries[]> {
    const { data, sendWallMs, recvWallMs } = await this.call('/api/v1/query', atS === undefined ? { query } : { query, time: atS.toFixed(3) })
    const result = parseResult(data)
    if (atS !== undefined) return result
    // Without `time`, the evaluation time is the server's clock during the request.
    const evalS = evalTimeOf(data)
    if (evalS !== null) this.o.offset.observe(evalS * 1000, evalS * 1000, sendWallMs, recvWallMs)
    return result
  }

  /** Range query: the expression evaluated every `stepS` over [startS, endS] (server clock). */
  async range(query: string, startS: number, endS: number, stepS: number): Promise<RawSeries[]> {
    const { data } = await this.call('/api/v1/query_range', { query, start: startS.toFixed(3), end: endS.toFixed(3), step: String(stepS) })
    return parseResult(data)
  }

  /** Metric names the server knows (for a hint when a preset's metrics are absent). */
  async metricNames(): Promise<string[]> {
    const { data } = await this.call('/api/v1/label/__name__/values', {}, 'GET')
    return Array.isArray(data) ? data.filter((x): x is string => typeof x === 'string') : []
  }

  close(): Promise<void> {
    return this.dispatcher.close()
  }

  /** Queries go as form POSTs (long PromQL does not fit a URL); the label endpoint is GET-only. */
  private async call(path: string, params: Record<string, string>, method: 'GET' | 'POST' = 'POST'): Promise<{ data: unknown; sendWallMs: number; recvWallMs: number }> {
    // Relative to the base URL, so a Prometheus behind a path prefix (https://host/prometheus) works.
    const url = new URL(path.replace(/^\//, ''), this.o.baseUrl.href.endsWith('/') ? this.o.baseUrl : new URL(`${this.o.baseUrl.href}/`))
    const form = new URLSearchParams(params).toString()
    if (method === 'GET' && form !== '') url.search = form
    const auth = this.o.authorization ? { authorization: this.o.authorization } : {}
    const res = await timedRequest(this.dispatcher, this.o.clock, url, {
      method,
      headers: method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...auth } : { accept: 'application/json', ...auth },
      ...(method === 'POST' ? { body: form } : {}),
      timeoutMs: this.o.timeoutMs,
    })
    let env: { status?: unknown; data?: unknown; errorType?: unknown; error?: unknown } | undefined
    try {
      env = JSON.parse(res.text) as typeof env
    } catch {
      env = undefined
    }
    if (res.status < 200 || res.status >= 300 || env?.status !== 'success') {
      const detail = typeof env?.error === 'string' ? env.error : res.text.slice(0, 200).trim() || 'no body'
      throw new PrometheusApiError(res.status, typeof env?.errorType === 'string' ? env.errorType : '', detail)
    }
    return { data: env.data, sendWallMs: res.sendWallMs, recvWallMs: res.recvWallMs }
  }
}

function num(s: unknown): number {
  return typeof s === 'string' ? Number(s) : typeof s === 'number' ? s : Number.NaN
}

function parseResult(data: unknown): RawSeries[] {
  const d = data as { resultType?: unknown; result?: unknown } | undefined
  const result = Array.isArray(d?.result) ? (d.result as unknown[]) : []
  const out: RawSeries[] = []
  for (const r of result) {
    const o = r as { metric?: Record<string, string>; values?: unknown[]; value?: unknown }
    const labels = o.metric ?? {}
    const raw = Array.isArray(o.values) ? o.values : Array.isArray(o.value) ? [o.value] : []
    const samples: [number, number][] = []
    for (const p of raw) if (Array.isArray(p) && p.length >= 2) samples.push([num(p[0]), num(p[1])])
    out.push({ labels, samples })
  }
  return out
}

/** The evaluation time of an instant query: every vector element (or the scalar) carries it. */
function evalTimeOf(data: unknown): number | null {
  const d = data as { resultType?: unknown; result?: unknown } | undefined
  if (d?.resultType === 'vector' && Array.isArray(d.result) && d.result.length > 0) {
    const v = (d.result[0] as { value?: unknown[] }).value
    return Array.isArray(v) ? num(v[0]) : null
  }
  if (d?.resultType === 'scalar' && Array.isArray(d.result)) return num(d.result[0])
  return null
}
