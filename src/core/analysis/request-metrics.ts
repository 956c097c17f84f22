import type { RequestRecord } from '../records.js'

/** Per-request latency figures, derived from a record exactly as DESIGN.md §4 defines them. */
export interface RequestTimings {
  /** First content-bearing chunk − sent (ns); null when no content arrived. */
  readonly ttftNs: number | null
  /** Last byte − sent (ns). */
  readonly e2eNs: number | null
  /** (e2e − ttft) / (outputTokens − 1) (ns/token); null with fewer than 2 output tokens. */
  readonly tpotNs: number | null
  readonly outputTokens: number
  /** When the request ended (last byte, or the send time when nothing came back). */
  readonly endNs: number
}

export function requestTimings(r: RequestRecord): RequestTimings {
  const first = r.chunkAtNs[0]
  const ttftNs = first === undefined ? null : first - r.sentAtNs
  const e2eNs = r.lastByteAtNs === null ? null : r.lastByteAtNs - r.sentAtNs
  const outputTokens = r.outputTokens ?? sumTokens(r.chunkTokens)
  const tpotNs = ttftNs !== null && e2eNs !== null && outputTokens > 1 ? (e2eNs - ttftNs) / (outputTokens - 1) : null
  return { ttftNs, e2eNs, tpotNs, outputTokens, endNs: r.lastByteAtNs ?? r.sentAtNs }
}

export function sumTokens(tokens: readonly number[]): number {
  let s = 0
  for (const t of tokens) s += t
  return s
}

/**
 * Tokens each content chunk carried, made to agree with the server's usage: when the server reported
 * a completion-token total that differs from the chunk sum (servers that pack several tokens into a
 * chunk without per-chunk usage), the total is spread over the chunks in proportion.
 */
export function effectiveChunkTokens(r: RequestRecord): readonly number[] {
  if (r.tokenSource !== 'server-usage' || r.outputTokens === null) return r.chunkTokens
  const sum = sumTokens(r.chunkTokens)
  if (sum === 0 || sum === r.outputTokens) return r.chunkTokens
  const f = r.outputTokens / sum
  return r.chunkTokens.map((t) => t * f)
}

/** Inter-token latencies of one request: each gap between content chunks over the tokens it brought (ns). */
export function interTokenGapsNs(r: RequestRecord, out: number[]): void {
  const tokens = effectiveChunkTokens(r)
  for (let i = 1; i < r.chunkAtNs.length; i++) {
    const gap = (r.chunkAtNs[i] as number) - (r.chunkAtNs[i - 1] as number)
    const k = tokens[i] ?? 1
    out.push(k > 0 ? gap / k : gap)
  }
}

/**
 * The requests every request-level figure is over: measured ones (not warm-up, not cancelled by the
 * run) that ended inside the window, failures included.
 */
export function requestsEndedIn(records: readonly RequestRecord[], startNs: number, endNs: number): RequestRecord[] {
  return records.filter((r) => {
    if (r.phase !== 'measure' || r.error?.kind === 'aborted') return false
    const end = r.lastByteAtNs ?? r.sentAtNs
    return end >= startNs && end <= endNs
  })
}

/** Per-request latency samples (ms, and tokens/s for interactivity) of successful requests. */
export interface LatencySamples {
  readonly ttftMs: number[]
  readonly tpotMs: number[]
  readonly e2eMs: number[]
  readonly interactivityTokPerS: number[]
}

export function latencySamples(succeeded: readonly RequestRecord[]): LatencySamples {
  const out: LatencySamples = { ttftMs: [], tpotMs: [], e2eMs: [], interactivityTokPerS: [] }
  for (const r of succeeded) {
    const t = requestTimings(r)
    if (t.ttftNs !== null) out.ttftMs.push(t.ttftNs / 1e6)
    if (t.e2eNs !== null) out.e2eMs.push(t.e2eNs / 1e6)
    if (t.tpotNs !== null) {
      out.tpotMs.push(t.tpotNs / 1e6)
      if (t.tpotNs > 0) out.interactivityTokPerS.push(1e9 / t.tpotNs)
    }
  }
  return out
}
