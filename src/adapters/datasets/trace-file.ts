import { createReadStream, readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import type { TraceFormat } from '../../core/config/trace-schema.js'
import { createTraceParser, wekaRows } from '../../core/load/trace/trace-readers.js'
import { TraceParseError, type TraceRow } from '../../core/load/trace/trace-row.js'

/**
 * Streams the rows of a trace file line by line (node:readline over a file stream), so only the line
 * being parsed is in memory however long the trace is. A Weka trace written as one pretty-printed
 * JSON object (not one object per line) is read whole: it is one session.
 */
export async function* readTraceRows(path: string, format: TraceFormat, blockTokens?: number): AsyncGenerator<TraceRow> {
  const parser = createTraceParser(format, blockTokens)
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity })
  let n = 0
  try {
    for await (const line of lines) {
      n++
      let rows: TraceRow[]
      try {
        rows = parser.parseLine(n === 1 ? line.replace(/^\uFEFF/, '') : line, n)
      } catch (e) {
        if (format === 'weka' && n === 1 && e instanceof TraceParseError && /not valid JSON/.test(e.message)) {
          lines.close()
          yield* wholeWekaFile(path)
          return
        }
        throw e
      }
      for (const r of rows) yield r
    }
  } finally {
    lines.close()
  }
}

function* wholeWekaFile(path: string): Generator<TraceRow> {
  let o: unknown
  try {
    o = JSON.parse(readFileSync(path, 'utf8'))
  } catch {
    throw new TraceParseError(1, 'not valid JSON (a Weka trace is one JSON object, or one object per line)')
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new TraceParseError(1, 'expected a JSON object')
  yield* wekaRows(o as Record<string, unknown>, 1)
}

/** Reads the whole trace once to check every row (line-numbered errors before any load) and count them. */
export async function checkTraceFile(path: string, format: TraceFormat, blockTokens?: number): Promise<{ rows: number; sessions: number }> {
  let rows = 0
  const sessions = new Set<string>()
  for await (const r of readTraceRows(path, format, blockTokens)) {
    rows++
    if (r.sessionId !== null && sessions.size < 1_000_000) sessions.add(r.sessionId)
  }
  return { rows, sessions: sessions.size }
}
