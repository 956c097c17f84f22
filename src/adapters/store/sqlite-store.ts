import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { ConfigError, NotFoundError } from '../../core/errors.js'
import type { PowerSample, RequestErrorKind, RequestRecord, TokenSource } from '../../core/records.js'
import type { ResultsStore, RunManifest, StoredRunRow } from '../../core/store.js'
import type { RunSummary } from '../../core/summary.js'
import type { MonitorTick } from '../../core/monitor/monitor-state.js'

/**
 * The embedded results store: one SQLite file (better-sqlite3, WAL). SQLite rather than DuckDB
 * because runs are written as they happen, in many small transactions, by one process: SQLite's
 * synchronous API and WAL make each batch durable in microseconds, and a killed run leaves every
 * committed batch readable. Analytics over one run fit in memory; Parquet export goes through
 * hyparquet-writer. Per-chunk arrival times are kept as Float64 BLOBs, so a run of 100k requests of
 * 256 chunks stays one row per request.
 */
const SCHEMA_VERSION = 1

const DDL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY,
  started_at TEXT NOT NULL,
  ended_at TEXT,
  status TEXT NOT NULL,
  model TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  labels_json TEXT NOT NULL,
  manifest_json TEXT NOT NULL,
  summary_json TEXT
);
CREATE TABLE IF NOT EXISTS requests (
  run_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  phase TEXT NOT NULL,
  user_id INTEGER,
  scheduled_at_ns REAL,
  sent_at_ns REAL NOT NULL,
  headers_at_ns REAL,
  last_byte_at_ns REAL,
  target_input_tokens INTEGER,
  target_output_tokens INTEGER,
  input_tokens REAL,
  output_tokens REAL,
  token_source TEXT NOT NULL,
  finish_reason TEXT,
  error_kind TEXT,
  error_status INTEGER,
  error_message TEXT,
  chunk_at BLOB NOT NULL,
  chunk_tokens BLOB,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS power_samples (
  run_id TEXT NOT NULL,
  meter_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  at_ns REAL NOT NULL,
  source_time_ms REAL,
  power_w REAL,
  energy_j REAL
);
CREATE INDEX IF NOT EXISTS power_samples_run ON power_samples (run_id, at_ns);
CREATE TABLE IF NOT EXISTS monitor_ticks (
  run_id TEXT NOT NULL,
  at_ns REAL NOT NULL,
  output_tokens REAL NOT NULL,
  input_tokens REAL NOT NULL,
  running REAL,
  targets_up INTEGER NOT NULL,
  targets_down INTEGER NOT NULL,
  resets INTEGER NOT NULL,
  histograms_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS monitor_ticks_run ON monitor_ticks (run_id, at_ns);
CREATE TABLE IF NOT EXISTS request_sessions (
  run_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  session_id INTEGER,
  turn INTEGER,
  branch INTEGER,
  cached_input_tokens INTEGER,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
`

interface RequestRow {
  seq: number
  phase: string
  user_id: number | null
  scheduled_at_ns: number | null
  sent_at_ns: number
  headers_at_ns: number | null
  last_byte_at_ns: number | null
  target_input_tokens: number | null
  target_output_tokens: number | null
  input_tokens: number | null
  output_tokens: number | null
  token_source: string
  finish_reason: string | null
  error_kind: string | null
  error_status: number | null
  error_message: string | null
  chunk_at: Buffer
  chunk_tokens: Buffer | null
}

export function openStore(path: string): ResultsStore {
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    const db = new Database(path)
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    db.exec(DDL)
    const version = db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'schema_version'").get()
    if (!version) db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION))
    else if (Number(version.value) > SCHEMA_VERSION)
      throw new ConfigError(`the store at ${path} was written by a newer tokenwatt (schema ${version.value})`, { hint: 'upgrade tokenwatt or use --store with another file' })
    return new SqliteStore(db)
  } catch (e) {
    if (e instanceof ConfigError) throw e
    throw new ConfigError(`cannot open the results store at ${path}: ${(e as Error).message}`, { hint: 'check the path and its permissions, or pass --store FILE', cause: e })
  }
}

class SqliteStore implements ResultsStore {
  private readonly insertRequest: Database.Statement
  private readonly insertSample: Database.Statement
  /** Session and prefix-cache facts of a record, kept beside it only when it has any. */
  private readonly insertSession: Database.Statement
  private readonly appendRequestsTx: (runId: string, records: readonly RequestRecord[]) => void
  private readonly appendSamplesTx: (runId: string, samples: readonly PowerSample[]) => void

  constructor(private readonly db: Database.Database) {
    this.insertRequest = db.prepare(`INSERT OR REPLACE INTO requests VALUES (
      @run_id, @seq, @phase, @user_id, @scheduled_at_ns, @sent_at_ns, @headers_at_ns, @last_byte_at_ns,
      @target_input_tokens, @target_output_tokens, @input_tokens, @output_tokens, @token_source, @finish_reason,
      @error_kind, @error_status, @error_message, @chunk_at, @chunk_tokens)`)
    this.insertSample = db.prepare('INSERT INTO power_samples VALUES (?, ?, ?, ?, ?, ?, ?)')
    this.insertSession = db.prepare('INSERT OR REPLACE INTO request_sessions VALUES (?, ?, ?, ?, ?, ?)')
    this.appendRequestsTx = db.transaction((runId: string, records: readonly RequestRecord[]) => {
      for (const r of records) {
        this.insertRequest.run(toRow(runId, r))
        if (r.sessionId !== undefined || (r.cachedInputTokens !== undefined && r.cachedInputTokens !== null)) {
          this.insertSession.run(runId, r.seq, r.sessionId ?? null, r.turn ?? null, r.branch ?? null, r.cachedInputTokens ?? null)
        }
      }
    })
    this.appendSamplesTx = db.transaction((runId: string, samples: readonly PowerSample[]) => {
      for (const s of samples) this.insertSample.run(runId, s.meterId, s.channel, s.atNs, s.sourceTimeMs, s.powerW, s.energyJ)
    })
  }

  createRun(m: RunManifest): void {
    this.db
      .prepare('INSERT INTO runs (id, started_at, status, model, endpoint, labels_json, manifest_json) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(m.id, m.startedAt, 'running', m.target.model, m.target.endpoint, JSON.stringify(m.labels), JSON.stringify(m))
  }

  appendRequests(runId: string, records: readonly RequestRecord[]): void {
    if (records.length > 0) this.appendRequestsTx(runId, records)
  }

  appendPowerSamples(runId: string, samples: readonly PowerSample[]): void {
    if (samples.length > 0) this.appendSamplesTx(runId, samples)
  }

  finishRun(runId: string, status: 'complete' | 'interrupted' | 'failed', summary: RunSummary | null): void {
    this.db
      .prepare('UPDATE runs SET status = ?, ended_at = ?, summary_json = ? WHERE id = ?')
      .run(status, summary?.endedAt ?? new Date().toISOString(), summary ? JSON.stringify(summary) : null, runId)
  }

  listRuns(): readonly StoredRunRow[] {
    const rows = this.db
      .prepare<[], { id: string; started_at: string; ended_at: string | null; status: string; model: string; endpoint: string; labels_json: string; n: number }>(
        `SELECT r.id, r.started_at, r.ended_at, r.status, r.model, r.endpoint, r.labels_json,
                (SELECT count(*) FROM requests q WHERE q.run_id = r.id AND q.phase = 'measure') AS n
         FROM runs r ORDER BY r.started_at DESC, r.id DESC`,
      )
      .all()
    return rows.map((r) => ({
      id: r.id,
      startedAt: r.started_at,
      endedAt: r.ended_at,
      status: r.status as StoredRunRow['status'],
      model: r.model,
      endpoint: r.endpoint,
      requests: r.n,
      labels: JSON.parse(r.labels_json) as Record<string, string>,
    }))
  }

  resolveRunId(idOrPrefix: string): string {
    if (idOrPrefix === 'latest' || idOrPrefix === 'last') {
      const row = this.db.prepare<[], { id: string }>('SELECT id FROM runs ORDER BY started_at DESC, id DESC LIMIT 1').get()
      if (!row) throw new NotFoundError('the store has no runs yet', { hint: 'run `tokenwatt bench` first' })
      return row.id
    }
    const rows = this.db.prepare<[string, string], { id: string }>("SELECT id FROM runs WHERE id = ? OR id LIKE ? || '%' ESCAPE '\\' LIMIT 3").all(idOrPrefix, idOrPrefix.replace(/[%_\\]/g, '\\$&'))
    const exact = rows.find((r) => r.id === idOrPrefix)
    if (exact) return exact.id
    if (rows.length === 1) return (rows[0] as { id: string }).id
    if (rows.length === 0) throw new NotFoundError(`no run ${JSON.stringify(idOrPrefix)} in the store`, { hint: 'list runs with `tokenwatt runs list`' })
    throw new NotFoundError(`run id prefix ${JSON.stringify(idOrPrefix)} is ambiguous`, { hint: 'give more characters of the id' })
  }

  getManifest(runId: string): RunManifest {
    const id = this.resolveRunId(runId)
    const row = this.db.prepare<[string], { manifest_json: string }>('SELECT manifest_json FROM runs WHERE id = ?').get(id)
    return JSON.parse((row as { manifest_json: string }).manifest_json) as RunManifest
  }

  getSummary(runId: string): RunSummary | null {
    const id = this.resolveRunId(runId)
    const row = this.db.prepare<[string], { summary_json: string | null }>('SELECT summary_json FROM runs WHERE id = ?').get(id)
    return row?.summary_json ? (JSON.parse(row.summary_json) as RunSummary) : null
  }

  getRequests(runId: string): RequestRecord[] {
    const id = this.resolveRunId(runId)
    const rows = this.db.prepare<[string], RequestRow>('SELECT * FROM requests WHERE run_id = ? ORDER BY seq').all(id).map(fromRow)
    const extra = this.db
      .prepare<[string], { seq: number; session_id: number | null; turn: number | null; branch: number | null; cached_input_tokens: number | null }>(
        'SELECT seq, session_id, turn, branch, cached_input_tokens FROM request_sessions WHERE run_id = ?',
      )
      .all(id)
    if (extra.length === 0) return rows
    const bySeq = new Map(extra.map((e) => [e.seq, e]))
    return rows.map((r) => {
      const e = bySeq.get(r.seq)
      if (e === undefined) return r
      return {
        ...r,
        ...(e.cached_input_tokens !== null ? { cachedInputTokens: e.cached_input_tokens } : {}),
        ...(e.session_id !== null ? { sessionId: e.session_id, turn: e.turn ?? 0, branch: e.branch ?? 0 } : {}),
      }
    })
  }

  getPowerSamples(runId: string): PowerSample[] {
    const id = this.resolveRunId(runId)
    return this.db
      .prepare<[string], { meter_id: string; channel: string; at_ns: number; source_time_ms: number | null; power_w: number | null; energy_j: number | null }>(
        'SELECT meter_id, channel, at_ns, source_time_ms, power_w, energy_j FROM power_samples WHERE run_id = ? ORDER BY at_ns',
      )
      .all(id)
      .map((s) => ({ meterId: s.meter_id, channel: s.channel, atNs: s.at_ns, sourceTimeMs: s.source_time_ms, powerW: s.power_w, energyJ: s.energy_j }))
  }

  appendMonitorTicks(runId: string, ticks: readonly MonitorTick[]): void {
    if (ticks.length === 0) return
    const insert = this.db.prepare('INSERT INTO monitor_ticks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
    this.db.transaction(() => {
      for (const t of ticks) {
        // Histogram increases as [le, count] pairs; +Inf is written as null (JSON has no Infinity).
        const h = Object.fromEntries(Object.entries(t.histograms).map(([k, m]) => [k, [...m].map(([le, c]) => [Number.isFinite(le) ? le : null, c])]))
        insert.run(runId, t.atNs, t.outputTokens, t.inputTokens, t.running, t.targetsUp, t.targetsDown, t.resets, JSON.stringify(h))
      }
    })()
  }

  getMonitorTicks(runId: string): MonitorTick[] {
    const id = this.resolveRunId(runId)
    type Row = { at_ns: number; output_tokens: number; input_tokens: number; running: number | null; targets_up: number; targets_down: number; resets: number; histograms_json: string }
    return this.db
      .prepare<[string], Row>('SELECT * FROM monitor_ticks WHERE run_id = ? ORDER BY at_ns')
      .all(id)
      .map((r) => {
        const h = JSON.parse(r.histograms_json) as Record<string, [number | null, number][]>
        const map = (k: string): Map<number, number> => new Map((h[k] ?? []).map(([le, c]) => [le ?? Infinity, c]))
        return { atNs: r.at_ns, outputTokens: r.output_tokens, inputTokens: r.input_tokens, running: r.running, targetsUp: r.targets_up, targetsDown: r.targets_down, resets: r.resets, histograms: { ttft: map('ttft'), itl: map('itl'), e2e: map('e2e') } }
      })
  }

  close(): void {
    this.db.close()
  }
}

function toRow(runId: string, r: RequestRecord): Record<string, unknown> {
  const allOnes = r.chunkTokens.every((t) => t === 1)
  return {
    run_id: runId,
    seq: r.seq,
    phase: r.phase,
    user_id: r.userId,
    scheduled_at_ns: r.scheduledAtNs,
    sent_at_ns: r.sentAtNs,
    headers_at_ns: r.headersAtNs,
    last_byte_at_ns: r.lastByteAtNs,
    target_input_tokens: r.targetInputTokens,
    target_output_tokens: r.targetOutputTokens,
    input_tokens: r.inputTokens,
    output_tokens: r.outputTokens,
    token_source: r.tokenSource,
    finish_reason: r.finishReason,
    error_kind: r.error?.kind ?? null,
    error_status: r.error?.status ?? null,
    error_message: r.error?.message ?? null,
    chunk_at: floatBlob(r.chunkAtNs),
    chunk_tokens: allOnes ? null : floatBlob(r.chunkTokens),
  }
}

function fromRow(row: RequestRow): RequestRecord {
  const chunkAtNs = blobFloats(row.chunk_at)
  return {
    seq: row.seq,
    phase: row.phase as RequestRecord['phase'],
    userId: row.user_id,
    scheduledAtNs: row.scheduled_at_ns,
    sentAtNs: row.sent_at_ns,
    headersAtNs: row.headers_at_ns,
    chunkAtNs,
    chunkTokens: row.chunk_tokens ? blobFloats(row.chunk_tokens) : new Array<number>(chunkAtNs.length).fill(1),
    lastByteAtNs: row.last_byte_at_ns,
    targetInputTokens: row.target_input_tokens,
    targetOutputTokens: row.target_output_tokens,
    inputTokens: row.input_tokens,
    outputTokens: row.output_tokens,
    tokenSource: row.token_source as TokenSource,
    finishReason: row.finish_reason,
    error: row.error_kind
      ? { kind: row.error_kind as RequestErrorKind, message: row.error_message ?? '', ...(row.error_status !== null ? { status: row.error_status } : {}) }
      : null,
  }
}

function floatBlob(xs: readonly number[]): Buffer {
  const f = Float64Array.from(xs)
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength)
}

function blobFloats(b: Buffer): number[] {
  const copy = new Float64Array(b.byteLength / 8)
  new Uint8Array(copy.buffer).set(b)
  return Array.from(copy)
}
