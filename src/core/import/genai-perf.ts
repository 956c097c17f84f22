/**
 * GenAI-Perf `profile_export.json`: the raw file Perf Analyzer writes and GenAI-Perf reads. Shape
 * checked against triton-inference-server/client (perf_analyzer/profile_data_exporter test, and
 * genai-perf tests/test_llm_profile_data_parser.py, GenAI-Perf 0.0.x with Perf Analyzer 2.x / Triton
 * 24.x): `{service_kind, endpoint, experiments: [{experiment: {mode, value}, requests: [{timestamp,
 * request_inputs: {payload}, response_timestamps: [ns], response_outputs: [{response} | {text_output}]}],
 * window_boundaries}], version}`. Timestamps are `system_clock` ns since the Unix epoch, so the span is
 * the wall-clock time of the first request to the last response. OpenAI responses are the raw SSE
 * text (`data: {...}\n\n`, several merged into one when they arrived together); a response counts as
 * content when a chunk's `delta.content` (chat) or `text` (completions) is non-empty, as GenAI-Perf
 * counts it. GenAI-Perf counts tokens with a tokenizer; without one, each content chunk counts one
 * token unless the server sent `usage` (the run says which).
 */
import { firstLastChunks, importedRecord, samplesFromRecords } from './imported-records.js'
import { ImportFormatError, located, parseJsonText, type ImportedRun } from './imported-run.js'
import type { RequestRecord } from '../records.js'

export const GENAI_PERF_SUPPORTED = ['GenAI-Perf profile_export.json (Perf Analyzer 2.x experiments/requests, Triton 24.x–25.x)'] as const

interface ChunkCount {
  /** Content-bearing chunks in this response. */
  readonly content: number
  readonly usage: { readonly prompt: number | null; readonly completion: number | null } | null
}

/** Content chunks and usage in one response entry (raw SSE text, a full JSON body, or Triton's text_output). */
function countResponse(out: unknown): ChunkCount {
  if (out === null || typeof out !== 'object') return { content: 0, usage: null }
  const o = out as Record<string, unknown>
  if (typeof o.text_output === 'string') return { content: o.text_output !== '' ? 1 : 0, usage: null }
  if (typeof o.response !== 'string') return { content: 0, usage: null }
  const text = o.response
  const bodies = /^\s*data:/.test(text)
    ? text
        .split(/\r?\n/)
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trim())
        .filter((l) => l !== '' && l !== '[DONE]')
    : [text]
  let content = 0
  let usage: ChunkCount['usage'] = null
  for (const b of bodies) {
    let j: unknown
    try {
      j = JSON.parse(b)
    } catch {
      continue
    }
    const c = j as { choices?: { delta?: { content?: unknown }; text?: unknown; message?: { content?: unknown } }[]; usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } | null }
    const ch = c.choices?.[0]
    const piece = ch?.delta?.content ?? ch?.text ?? ch?.message?.content
    if (typeof piece === 'string' && piece !== '') content++
    if (c.usage && typeof c.usage === 'object') {
      usage = {
        prompt: typeof c.usage.prompt_tokens === 'number' ? c.usage.prompt_tokens : null,
        completion: typeof c.usage.completion_tokens === 'number' ? c.usage.completion_tokens : null,
      }
    }
  }
  return { content, usage }
}

function modelOf(req: Record<string, unknown>): string | null {
  const inputs = req.request_inputs as { payload?: unknown } | undefined
  if (typeof inputs?.payload !== 'string') return null
  try {
    const p = JSON.parse(inputs.payload) as { model?: unknown }
    return typeof p.model === 'string' ? p.model : null
  } catch {
    return null
  }
}

export function parseGenaiPerfExport(text: string, fileName = 'profile_export.json'): ImportedRun[] {
  const doc = parseJsonText(text, fileName)
  const at = (...path: (string | number)[]): string => located(text, fileName, path)
  const hint = `supported: ${GENAI_PERF_SUPPORTED.join(', ')}`
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new ImportFormatError(`${fileName}: expected one JSON object with "experiments"`, { hint })
  const o = doc as Record<string, unknown>
  if (!Array.isArray(o.experiments)) {
    throw new ImportFormatError(`${at('experiments')}: ${o.experiments === undefined ? 'missing' : 'expected a list'} (not a Perf Analyzer profile_export.json)`, { hint })
  }
  const version = typeof o.version === 'string' ? o.version : 'unversioned'
  const endpoint = typeof o.endpoint === 'string' && o.endpoint !== '' ? o.endpoint : null
  const runs: ImportedRun[] = []
  o.experiments.forEach((exp, ei) => {
    const e = exp as { experiment?: { mode?: unknown; value?: unknown }; requests?: unknown }
    if (!Array.isArray(e.requests)) throw new ImportFormatError(`${at('experiments', ei, 'requests')}: expected a list of requests`, { hint })
    const mode = typeof e.experiment?.mode === 'string' ? e.experiment.mode : 'unknown'
    const value = typeof e.experiment?.value === 'number' ? e.experiment.value : null
    let first = Infinity
    let last = -Infinity
    let model: string | null = null
    let usageSeen = false
    let countedSeen = false
    const parsed = e.requests.map((rq, ri) => {
      const r = rq as Record<string, unknown>
      if (typeof r.timestamp !== 'number') throw new ImportFormatError(`${at('experiments', ei, 'requests', ri, 'timestamp')}: expected epoch ns, got ${JSON.stringify(r.timestamp)}`, { hint })
      if (!Array.isArray(r.response_timestamps) || r.response_timestamps.some((t) => typeof t !== 'number')) {
        throw new ImportFormatError(`${at('experiments', ei, 'requests', ri, 'response_timestamps')}: expected a list of epoch ns`, { hint })
      }
      const ts = r.response_timestamps as number[]
      const outs = Array.isArray(r.response_outputs) ? r.response_outputs : []
      model ??= modelOf(r)
      first = Math.min(first, r.timestamp)
      for (const t of ts) last = Math.max(last, t)
      last = Math.max(last, r.timestamp)
      const chunkAt: number[] = []
      const chunkTok: number[] = []
      const counts = ts.map((_, i) => countResponse(outs[i]))
      counts.forEach((c, i) => {
        if (c.content > 0) {
          chunkAt.push(ts[i] as number)
          chunkTok.push(c.content)
        }
      })
      const usage = counts.reduce<ChunkCount['usage']>((u, c) => c.usage ?? u, null)
      return { sent: r.timestamp, chunkAt, chunkTok, lastNs: ts.length > 0 ? Math.max(...ts) : null, usage }
    })
    if (!Number.isFinite(first)) return
    const records: RequestRecord[] = parsed
      .sort((a, b) => a.sent - b.sent)
      .map((q, seq) => {
        const counted = q.chunkTok.reduce((a, b) => a + b, 0)
        const completion = q.usage?.completion ?? null
        if (completion !== null) usageSeen = true
        else if (counted > 0) countedSeen = true
        const ok = q.chunkAt.length > 0
        return importedRecord({
          seq,
          sentAtNs: q.sent - first,
          chunkAtNs: q.chunkAt.map((t) => t - first),
          chunkTokens: q.chunkTok,
          lastByteAtNs: q.lastNs !== null ? q.lastNs - first : null,
          inputTokens: q.usage?.prompt ?? null,
          outputTokens: ok ? (completion ?? counted) : null,
          tokenSource: completion !== null ? 'server-usage' : 'client-count',
          error: ok ? null : { kind: 'http_status', message: 'no content-bearing response (Perf Analyzer records no status code)' },
        })
      })
    // Two-chunk form when a record has usage but packed chunks, so TPOT follows usage.
    const fixed = records.map((r) => (r.tokenSource === 'server-usage' && r.outputTokens !== null && r.chunkAtNs.length === 1 ? { ...r, ...firstLastChunks(r.chunkAtNs[0] ?? null, r.lastByteAtNs, r.outputTokens) } : r))
    const ok = fixed.filter((r) => r.error === null)
    const output = ok.reduce((a, r) => a + (r.outputTokens ?? 0), 0)
    const input = ok.reduce((a, r) => a + (r.inputTokens ?? 0), 0)
    const unavailable: string[] = []
    if (ok.some((r) => r.inputTokens === null)) unavailable.push('input tokens (GenAI-Perf counts them with a tokenizer; the raw export has only the prompt text)')
    const warnings: string[] = []
    if (countedSeen) warnings.push(`${usageSeen ? 'some' : 'all'} output token counts are one per content chunk (no usage in the responses): servers that pack several tokens per chunk are undercounted`)
    const samples = samplesFromRecords(fixed)
    runs.push({
      format: 'genai-perf',
      tool: { name: 'genai-perf', version },
      model: model ?? 'unknown',
      endpoint,
      startWallMs: first / 1e6,
      durationS: (last - first) / 1e9,
      requests: { completed: ok.length, failed: fixed.length - ok.length },
      tokens: { input, output },
      load: { concurrency: mode === 'concurrency' ? value : null, rate: mode === 'request_rate' ? value : null },
      samples,
      means: { ttftMs: null, tpotMs: null, itlMs: null, e2eMs: null },
      unavailable,
      warnings,
      records: fixed,
      tokenSource: usageSeen && !countedSeen ? 'server-usage' : 'client-count',
      spanKnown: true,
      power: null,
      benchmark: `experiment ${ei} (${mode}${value !== null ? ` ${value}` : ''})`,
    })
  })
  if (runs.length === 0) throw new ImportFormatError(`${at('experiments')}: no experiment has requests`, { hint })
  return runs
}
