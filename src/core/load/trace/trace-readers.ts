import { DEFAULT_BLOCK_TOKENS, type TraceFormat } from '../../config/trace-schema.js'
import { TraceParseError, type TraceRow } from './trace-row.js'

/**
 * Line-at-a-time readers of the published trace formats: each line is parsed on its own, so a trace of
 * any length streams through in constant memory. Every bad row is a {@link TraceParseError} naming its
 * line. Formats (column names checked against the public releases and AIPerf's loaders):
 *
 * - `mooncake` (Mooncake FAST'25 traces, JSONL): `{"timestamp": ms, "input_length", "output_length",
 *   "hash_ids": [...]}`, hash blocks of 512 tokens.
 * - `azure` (Azure LLM inference traces 2023/2024, CSV): `TIMESTAMP,ContextTokens,GeneratedTokens`,
 *   TIMESTAMP an absolute `YYYY-MM-DD HH:MM:SS.fffffff` (UTC, 100 ns ticks).
 * - `burstgpt` (BurstGPT, CSV): `Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type`
 *   (v1.1 adds `Session ID,Elapsed time`; columns are found by header name), Timestamp in seconds.
 * - `weka` (Weka/AgentX kv-cache-tester agentic traces): one trace object per line (or one per file),
 *   `{id, block_size, requests: [{t (s), type: "n"|"s"|"subagent", in, out, hash_ids, think_time (s),
 *   requests (subagent)}]}`; one trace is one session, hash ids scoped to it.
 * - `github-agent` (coding-agent session traces, laid out as GitHub's 2026 release describes them; no
 *   schema file was published to check against, so the common spellings are accepted): one session
 *   per line, `{session_id, turns: [{llm_calls: [{timestamp (ISO 8601 or Unix ms), duration_ms,
 *   prompt_tokens|input_tokens, completion_tokens|output_tokens, cached_tokens|cache_read_tokens}],
 *   tool_batches?}]}`. Calls replay in order as one session: each after the previous one ended plus
 *   the gap the trace recorded (tool batches and the user's time); `cached_tokens` become the shared
 *   prefix with the call before (see githubAgentRows).
 * - `jsonl` (tokenwatt's own): `{"timestamp_ms", "input_tokens", "output_tokens", "hash_ids"?,
 *   "session_id"?, "think_time_ms"?, "prompt"?}`.
 */
export interface TraceLineParser {
  /** Rows of one line (none for blank lines and headers). */
  parseLine(line: string, lineNo: number): TraceRow[]
}

/** `blockTokens`: the config's `workload.trace.blockTokens`, for formats whose blocks the reader makes (github-agent). */
export function createTraceParser(format: TraceFormat, blockTokens?: number): TraceLineParser {
  switch (format) {
    case 'mooncake':
      return { parseLine: (l, n) => jsonRows(l, n, mooncakeRow) }
    case 'jsonl':
      return { parseLine: (l, n) => jsonRows(l, n, tokenwattRow) }
    case 'weka':
      return { parseLine: (l, n) => jsonRows(l, n, (o, line) => wekaRows(o, line)) }
    case 'github-agent':
      return { parseLine: (l, n) => jsonRows(l, n, (o, line) => githubAgentRows(o, line, blockTokens ?? DEFAULT_BLOCK_TOKENS['github-agent'])) }
    case 'azure':
      return csvParser(['TIMESTAMP', 'ContextTokens', 'GeneratedTokens'], (cells, line) => ({
        ...base(line),
        timestampMs: parseAzureTimestampMs(cells[0] as string, line),
        inputTokens: count(cells[1], 'ContextTokens', line),
        outputTokens: count(cells[2], 'GeneratedTokens', line),
      }))
    case 'burstgpt':
      return csvParser(['Timestamp', 'Request tokens', 'Response tokens'], (cells, line) => ({
        ...base(line),
        timestampMs: seconds(cells[0], 'Timestamp', line) * 1000,
        inputTokens: count(cells[1], 'Request tokens', line),
        outputTokens: count(cells[2], 'Response tokens', line),
      }))
  }
}

function base(line: number): TraceRow {
  return { line, timestampMs: 0, inputTokens: 0, outputTokens: 0, hashIds: null, sessionId: null, thinkTimeMs: null, blockTokens: null, prompt: null }
}

function jsonRows(text: string, line: number, toRows: (o: Record<string, unknown>, line: number) => TraceRow | TraceRow[]): TraceRow[] {
  const t = text.trim()
  if (t === '') return []
  let o: unknown
  try {
    o = JSON.parse(t)
  } catch {
    throw new TraceParseError(line, 'not valid JSON')
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new TraceParseError(line, 'expected a JSON object')
  const rows = toRows(o as Record<string, unknown>, line)
  return Array.isArray(rows) ? rows : [rows]
}

function mooncakeRow(o: Record<string, unknown>, line: number): TraceRow {
  return {
    ...base(line),
    timestampMs: num(o.timestamp, 'timestamp', line),
    inputTokens: count(o.input_length, 'input_length', line),
    outputTokens: count(o.output_length, 'output_length', line),
    hashIds: o.hash_ids === undefined ? null : ids(o.hash_ids, line),
  }
}

function tokenwattRow(o: Record<string, unknown>, line: number): TraceRow {
  return {
    ...base(line),
    timestampMs: num(o.timestamp_ms, 'timestamp_ms', line),
    inputTokens: count(o.input_tokens, 'input_tokens', line),
    outputTokens: count(o.output_tokens, 'output_tokens', line),
    hashIds: o.hash_ids === undefined ? null : ids(o.hash_ids, line),
    sessionId: typeof o.session_id === 'string' || typeof o.session_id === 'number' ? String(o.session_id) : null,
    thinkTimeMs: o.think_time_ms === undefined ? null : num(o.think_time_ms, 'think_time_ms', line),
    prompt: typeof o.prompt === 'string' ? o.prompt : null,
  }
}

/**
 * One Weka trace: its requests in order (subagent entries flattened into their inner requests, which
 * run after the parent's previous request, as the format's spec orders them). Timestamps `t` are
 * seconds; `think_time` (s) is the client's delay before a request.
 */
export function wekaRows(o: Record<string, unknown>, line: number): TraceRow[] {
  if (typeof o.id !== 'string' || !Array.isArray(o.requests)) throw new TraceParseError(line, 'a Weka trace needs "id" and a "requests" list')
  const block = o.block_size === undefined ? null : count(o.block_size, 'block_size', line)
  const out: TraceRow[] = []
  const walk = (reqs: unknown[], where: string): void => {
    reqs.forEach((r, i) => {
      const q = (r ?? {}) as Record<string, unknown>
      const at = `${where}[${i}]`
      if (q.type === 'subagent') {
        if (!Array.isArray(q.requests)) throw new TraceParseError(line, `${at}: a subagent needs "requests"`)
        walk(q.requests, `${at}.requests`)
        return
      }
      if (q.type !== 'n' && q.type !== 's') throw new TraceParseError(line, `${at}: type must be "n", "s" or "subagent"`)
      out.push({
        ...base(line),
        timestampMs: num(q.t, `${at}.t`, line) * 1000,
        inputTokens: count(q.in, `${at}.in`, line),
        outputTokens: count(q.out, `${at}.out`, line),
        hashIds: q.hash_ids === undefined ? null : ids(q.hash_ids, line),
        sessionId: o.id as string,
        thinkTimeMs: q.think_time === undefined || q.think_time === null ? null : num(q.think_time, `${at}.think_time`, line) * 1000,
        blockTokens: block,
      })
    })
  }
  walk(o.requests, 'requests')
  return out
}

/**
 * One coding-agent session: every LLM call of every turn, in order, as one trace session. The first
 * call is placed on the timeline at its timestamp; each later one waits the recorded gap after the
 * previous call ended (`timestamp − (previous timestamp + previous duration_ms)`, tool batches and the
 * user's time; never negative). Prompts are a conversation of `blockTokens`-token blocks: a call keeps
 * the first ⌊cached/blockTokens⌋ blocks of the previous call's prompt (its prefix-cache hit) and adds
 * new blocks for the rest, so the server's prefix cache sees the reuse the trace recorded.
 */
export function githubAgentRows(o: Record<string, unknown>, line: number, blockTokens: number): TraceRow[] {
  const sid = o.session_id
  if ((typeof sid !== 'string' && typeof sid !== 'number') || !Array.isArray(o.turns)) throw new TraceParseError(line, 'a GitHub agent session needs "session_id" and a "turns" list')
  const out: TraceRow[] = []
  let blocks: number[] = []
  let nextBlock = 0
  let prevEndMs: number | null = null
  o.turns.forEach((t, ti) => {
    const calls = ((t ?? {}) as Record<string, unknown>).llm_calls
    if (!Array.isArray(calls)) throw new TraceParseError(line, `turns[${ti}]: a turn needs an "llm_calls" list`)
    calls.forEach((c, ci) => {
      const q = (c ?? {}) as Record<string, unknown>
      const at = `turns[${ti}].llm_calls[${ci}]`
      const startMs = timestampMs(q.timestamp, `${at}.timestamp`, line)
      const durationMs = q.duration_ms === undefined ? 0 : num(q.duration_ms, `${at}.duration_ms`, line)
      const input = count(q.prompt_tokens ?? q.input_tokens, `${at}.prompt_tokens`, line)
      const output = count(q.completion_tokens ?? q.output_tokens, `${at}.completion_tokens`, line)
      const cached = q.cached_tokens ?? q.cache_read_tokens
      const cachedTokens = cached === undefined || cached === null ? 0 : count(cached, `${at}.cached_tokens`, line)
      const keep = Math.min(blocks.length, Math.floor(Math.min(cachedTokens, input) / blockTokens))
      blocks = blocks.slice(0, keep)
      while (blocks.length < Math.ceil(input / blockTokens)) blocks.push(nextBlock++)
      out.push({
        ...base(line),
        timestampMs: startMs,
        inputTokens: input,
        outputTokens: output,
        hashIds: [...blocks],
        sessionId: String(sid),
        thinkTimeMs: prevEndMs === null ? null : Math.max(0, startMs - prevEndMs),
        blockTokens,
      })
      prevEndMs = startMs + durationMs
    })
  })
  if (out.length === 0) throw new TraceParseError(line, `session ${String(sid)} has no LLM calls`)
  return out
}

/** ISO 8601 text or Unix milliseconds. */
function timestampMs(v: unknown, name: string, line: number): number {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v
  if (typeof v === 'string') {
    const ms = Date.parse(v)
    if (Number.isFinite(ms)) return ms
  }
  throw new TraceParseError(line, `${name} must be an ISO 8601 time or Unix milliseconds, not ${JSON.stringify(v)}`)
}

function csvParser(columns: readonly string[], toRow: (cells: string[], line: number) => TraceRow): TraceLineParser {
  let index: number[] | null = null
  return {
    parseLine(text, line) {
      if (text.trim() === '') return []
      const cells = splitCsv(text)
      if (index === null) {
        const header = cells.map((c) => c.trim())
        index = columns.map((c) => header.indexOf(c))
        const missing = columns.filter((_, i) => (index as number[])[i] === -1)
        if (missing.length > 0) throw new TraceParseError(line, `the header lacks ${missing.map((m) => `"${m}"`).join(', ')} (found ${header.join(',')})`)
        return []
      }
      const picked = index.map((i) => cells[i]?.trim() ?? '')
      return [toRow(picked, line)]
    },
  }
}

/** Splits one CSV line (RFC 4180 quotes, no embedded newlines). */
export function splitCsv(line: string): string[] {
  const out: string[] = []
  let cur = ''
  let quoted = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"'
        i++
      } else if (c === '"') quoted = false
      else cur += c
    } else if (c === '"') quoted = true
    else if (c === ',') {
      out.push(cur)
      cur = ''
    } else if (c !== '\r') cur += c
  }
  out.push(cur)
  return out
}

/** `2023-11-16 18:15:46.6805900` (UTC) → Unix ms, keeping every fractional digit (Date.parse would round to ms). */
export function parseAzureTimestampMs(text: string, line: number): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z?$/.exec(text.trim())
  if (!m) throw new TraceParseError(line, `TIMESTAMP "${text}" is not YYYY-MM-DD HH:MM:SS[.fffffff]`)
  const [, y, mo, d, h, mi, s, frac = ''] = m
  const whole = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s))
  return whole + (frac === '' ? 0 : Number(`0.${frac}`) * 1000)
}

function num(v: unknown, name: string, line: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new TraceParseError(line, `${name} must be a non-negative number`)
  return v
}

function seconds(v: string | undefined, name: string, line: number): number {
  const x = Number(v)
  if (v === undefined || v === '' || !Number.isFinite(x) || x < 0) throw new TraceParseError(line, `${name} "${v ?? ''}" is not a non-negative number`)
  return x
}

function count(v: unknown, name: string, line: number): number {
  const x = typeof v === 'string' && v !== '' ? Number(v) : v
  if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) throw new TraceParseError(line, `${name} must be a whole number ≥ 0, not ${JSON.stringify(v)}`)
  return x
}

function ids(v: unknown, line: number): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x))) throw new TraceParseError(line, 'hash_ids must be a list of integers')
  return v as number[]
}
