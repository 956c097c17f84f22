import type { RequestRecord } from '../src/core/records.js'

/**
 * Builds a RequestRecord from readable millisecond timestamps:
 * `record({ sentMs: 100, chunksMs: [110, 125, 140] })`. Output tokens default to the chunk count
 * with server usage; override any field.
 */
export function record(
  o: { sentMs: number; chunksMs?: number[]; endMs?: number | null; seq?: number } & Partial<Omit<RequestRecord, 'chunkAtNs'>>,
): RequestRecord {
  const chunks = o.chunksMs ?? []
  const ms = 1e6
  const last = o.endMs === undefined ? (chunks.length > 0 ? (chunks[chunks.length - 1] as number) : o.sentMs) : o.endMs
  const { sentMs: _s, chunksMs: _c, endMs: _e, ...rest } = o
  return {
    seq: 0,
    phase: 'measure',
    userId: 0,
    scheduledAtNs: null,
    sentAtNs: o.sentMs * ms,
    headersAtNs: o.sentMs * ms,
    chunkAtNs: chunks.map((c) => c * ms),
    chunkTokens: chunks.map(() => 1),
    lastByteAtNs: last === null ? null : last * ms,
    targetInputTokens: null,
    targetOutputTokens: null,
    inputTokens: 10,
    outputTokens: chunks.length,
    tokenSource: 'server-usage',
    finishReason: 'length',
    error: null,
    ...rest,
  }
}

/**
 * A closed loop of `users` users each sending `perUser` requests back to back: TTFT `ttftMs`, then
 * `tokens` chunks `itlMs` apart. Deterministic; the first wave can be slowed by `firstWaveExtraMs`.
 */
export function closedLoopRun(o: { users: number; perUser: number; ttftMs: number; itlMs: number; tokens: number; firstWaveExtraMs?: number }): RequestRecord[] {
  const out: RequestRecord[] = []
  let seq = 0
  for (let u = 0; u < o.users; u++) {
    let t = 0
    for (let i = 0; i < o.perUser; i++) {
      const ttft = o.ttftMs + (i === 0 ? (o.firstWaveExtraMs ?? 0) : 0)
      const chunks = Array.from({ length: o.tokens }, (_, k) => t + ttft + k * o.itlMs)
      out.push(record({ seq: seq++, userId: u, sentMs: t, chunksMs: chunks }))
      t = chunks[chunks.length - 1] as number
    }
  }
  return out.sort((a, b) => a.sentAtNs - b.sentAtNs)
}
