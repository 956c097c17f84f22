import { requestTimings } from '../analysis/request-metrics.js'
import type { PowerSample, RequestRecord } from '../records.js'
import { NS_PER_MS } from '../units.js'
import { csvCell } from './escape.js'

export type ColumnType = 'INT32' | 'DOUBLE' | 'STRING'

/** One column of raw records for notebooks: same names in CSV and Parquet (snake_case). */
export interface Column {
  readonly name: string
  readonly type: ColumnType
  readonly data: readonly (number | string | null)[]
}

/**
 * The raw request records as columns, one row per request (warm-up included, marked by `phase`),
 * with the per-request latencies derived exactly as the summary derives them.
 */
export function requestColumns(requests: readonly RequestRecord[]): Column[] {
  const n = requests.length
  const cols = {
    seq: new Array<number>(n),
    phase: new Array<string>(n),
    user_id: new Array<number | null>(n),
    scheduled_at_ns: new Array<number | null>(n),
    sent_at_ns: new Array<number>(n),
    headers_at_ns: new Array<number | null>(n),
    first_chunk_at_ns: new Array<number | null>(n),
    last_byte_at_ns: new Array<number | null>(n),
    chunks: new Array<number>(n),
    ttft_ms: new Array<number | null>(n),
    tpot_ms: new Array<number | null>(n),
    e2e_ms: new Array<number | null>(n),
    input_tokens: new Array<number | null>(n),
    output_tokens: new Array<number | null>(n),
    target_input_tokens: new Array<number | null>(n),
    target_output_tokens: new Array<number | null>(n),
    token_source: new Array<string>(n),
    finish_reason: new Array<string | null>(n),
    error_kind: new Array<string | null>(n),
    error_status: new Array<number | null>(n),
    error_message: new Array<string | null>(n),
  }
  for (let i = 0; i < n; i++) {
    const r = requests[i] as RequestRecord
    const t = requestTimings(r)
    cols.seq[i] = r.seq
    cols.phase[i] = r.phase
    cols.user_id[i] = r.userId
    cols.scheduled_at_ns[i] = r.scheduledAtNs
    cols.sent_at_ns[i] = r.sentAtNs
    cols.headers_at_ns[i] = r.headersAtNs
    cols.first_chunk_at_ns[i] = r.chunkAtNs[0] ?? null
    cols.last_byte_at_ns[i] = r.lastByteAtNs
    cols.chunks[i] = r.chunkAtNs.length
    cols.ttft_ms[i] = t.ttftNs !== null ? t.ttftNs / NS_PER_MS : null
    cols.tpot_ms[i] = t.tpotNs !== null ? t.tpotNs / NS_PER_MS : null
    cols.e2e_ms[i] = t.e2eNs !== null ? t.e2eNs / NS_PER_MS : null
    cols.input_tokens[i] = r.inputTokens
    cols.output_tokens[i] = r.outputTokens
    cols.target_input_tokens[i] = r.targetInputTokens
    cols.target_output_tokens[i] = r.targetOutputTokens
    cols.token_source[i] = r.tokenSource
    cols.finish_reason[i] = r.finishReason
    cols.error_kind[i] = r.error?.kind ?? null
    cols.error_status[i] = r.error?.status ?? null
    cols.error_message[i] = r.error?.message ?? null
  }
  const types: Record<keyof typeof cols, ColumnType> = {
    seq: 'INT32',
    phase: 'STRING',
    user_id: 'INT32',
    scheduled_at_ns: 'DOUBLE',
    sent_at_ns: 'DOUBLE',
    headers_at_ns: 'DOUBLE',
    first_chunk_at_ns: 'DOUBLE',
    last_byte_at_ns: 'DOUBLE',
    chunks: 'INT32',
    ttft_ms: 'DOUBLE',
    tpot_ms: 'DOUBLE',
    e2e_ms: 'DOUBLE',
    input_tokens: 'INT32',
    output_tokens: 'INT32',
    target_input_tokens: 'INT32',
    target_output_tokens: 'INT32',
    token_source: 'STRING',
    finish_reason: 'STRING',
    error_kind: 'STRING',
    error_status: 'INT32',
    error_message: 'STRING',
  }
  return (Object.keys(cols) as (keyof typeof cols)[]).map((name) => ({ name, type: types[name], data: cols[name] }))
}

/** The raw power samples as columns, one row per reading. */
export function powerSampleColumns(samples: readonly PowerSample[]): Column[] {
  return [
    { name: 'meter_id', type: 'STRING', data: samples.map((s) => s.meterId) },
    { name: 'channel', type: 'STRING', data: samples.map((s) => s.channel) },
    { name: 'at_ns', type: 'DOUBLE', data: samples.map((s) => s.atNs) },
    { name: 'source_time_ms', type: 'DOUBLE', data: samples.map((s) => s.sourceTimeMs) },
    { name: 'power_w', type: 'DOUBLE', data: samples.map((s) => s.powerW) },
    { name: 'energy_j', type: 'DOUBLE', data: samples.map((s) => s.energyJ) },
  ]
}

/** RFC 4180 CSV with a header row; text cells are guarded against spreadsheet formula injection. */
export function columnsToCsv(columns: readonly Column[]): string {
  const rows = columns[0]?.data.length ?? 0
  const parts: string[] = [columns.map((c) => csvCell(c.name)).join(',')]
  const numeric = columns.map((c) => c.type !== 'STRING')
  const cell = new Array<string>(columns.length)
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < columns.length; j++) {
      const v = (columns[j] as Column).data[i] ?? null
      // numbers need no quoting; only text goes through the escaping path
      cell[j] = v === null ? '' : numeric[j] && typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : csvCell(v)
    }
    parts.push(cell.join(','))
  }
  return `${parts.join('\r\n')}\r\n`
}
