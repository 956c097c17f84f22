/**
 * A benchmark result another tool produced, normalised: its wall-clock span, its token totals and
 * whatever latency samples it kept. Figures the tool did not write are null (and named in
 * `unavailable`), never 0.
 */
import { ExitCode, TokenwattError } from '../errors.js'
import type { MeterInfo } from '../ports.js'
import type { PowerSample, RequestRecord } from '../records.js'
import type { Stats } from '../summary.js'

export const IMPORT_FORMATS = ['vllm', 'aiperf', 'genai-perf', 'guidellm', 'inferencex'] as const
export type ImportFormat = (typeof IMPORT_FORMATS)[number]

/** Power the tool measured itself over the run (InferenceX's GPU energy), as one meter's samples. */
export interface ImportedPower {
  readonly info: MeterInfo
  /** Times in ns from the run's start, like every other sample. */
  readonly samples: readonly PowerSample[]
}

export interface ImportedRun {
  readonly format: ImportFormat
  /** The producing tool and the result version it wrote (or the version the shape matches). */
  readonly tool: { readonly name: string; readonly version: string }
  readonly model: string
  readonly endpoint: string | null
  /** Wall-clock ms of the benchmark's start and its length (s). */
  readonly startWallMs: number
  readonly durationS: number
  readonly requests: { readonly completed: number; readonly failed: number | null }
  readonly tokens: { readonly input: number; readonly output: number }
  readonly load: { readonly concurrency: number | null; readonly rate: number | null }
  /** Per-request samples in ms (empty when the tool wrote summary figures only). */
  readonly samples: { readonly ttftMs: readonly number[]; readonly tpotMs: readonly number[]; readonly itlMs: readonly number[]; readonly e2eMs: readonly number[]; readonly inputTokens: readonly number[]; readonly outputTokens: readonly number[] }
  /** Summary figures the tool wrote, used when there are no per-request samples. */
  readonly means: { readonly ttftMs: number | null; readonly tpotMs: number | null; readonly itlMs: number | null; readonly e2eMs: number | null }
  /** The tool's own distribution figures (mean and percentiles), for summary-only files. */
  readonly toolStats?: Partial<Record<'ttftMs' | 'tpotMs' | 'itlMs' | 'e2eMs', Stats>>
  readonly unavailable: readonly string[]
  readonly warnings: readonly string[]
  /**
   * Per-request records on the run's timeline (ns from its start), in the shape bench stores, where
   * the file has per-request timestamps; empty otherwise.
   */
  readonly records: readonly RequestRecord[]
  /** Where the token counts came from: the server's usage (or the tool's tokenizer) or one per chunk. */
  readonly tokenSource: 'server-usage' | 'client-count'
  /** False when the file carries no wall-clock time (startWallMs is then a placeholder). */
  readonly spanKnown: boolean
  /** Power the tool itself measured over the span, used as a measured meter; null when none. */
  readonly power: ImportedPower | null
  /** Which benchmark of a multi-benchmark file this is (GuideLLM sweeps, GenAI-Perf experiments). */
  readonly benchmark: string | null
}

/** A result file that is not in the shape its tool writes. The message names the line and field. */
export class ImportFormatError extends TokenwattError {
  readonly code = 'TW_IMPORT_INVALID'
  override readonly exitCode = ExitCode.Usage
}

/** Parses JSON, turning a syntax error into a line-numbered ImportFormatError. */
export function parseJsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text)
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message)
    const line = m ? text.slice(0, Number(m[1])).split('\n').length : null
    throw new ImportFormatError(`${what}: not valid JSON${line !== null ? ` (line ${line})` : ''}: ${(e as Error).message}`, { hint: 'give the file the tool wrote, unedited' })
  }
}

/**
 * 1-based line where the value at `path` (keys and indices, e.g. `['benchmarks', 1, 'requests']`)
 * starts in the JSON text, for error messages; null when the path is not in the text. One pass over
 * the text tracking the path of each value as it starts.
 */
export function lineOfPath(text: string, path: readonly (string | number)[]): number | null {
  interface Frame {
    readonly kind: 'obj' | 'arr'
    readonly path: readonly (string | number)[]
    key: string | number
  }
  const stack: Frame[] = []
  let line = 1
  const same = (p: readonly (string | number)[]): boolean => p.length === path.length && p.every((k, i) => k === path[i])
  /** The path of the value that starts now (an array moves on to its next index). */
  const startValue = (): (string | number)[] => {
    const top = stack[stack.length - 1]
    if (top === undefined) return []
    if (top.kind === 'arr') top.key = (top.key as number) + 1
    return [...top.path, top.key]
  }
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string
    if (c === '\n') line++
    else if (c === '"') {
      let j = i + 1
      let str = ''
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\') {
          str += text[j + 1] ?? ''
          j += 2
        } else str += text[j++] as string
      }
      let k = j + 1
      while (k < text.length && /\s/.test(text[k] as string)) k++
      const top = stack[stack.length - 1]
      if (top?.kind === 'obj' && text[k] === ':') top.key = str
      else if (same(startValue())) return line
      i = j
    } else if (c === '{' || c === '[') {
      const p = startValue()
      if (same(p)) return line
      stack.push({ kind: c === '{' ? 'obj' : 'arr', path: p, key: c === '{' ? '' : -1 })
    } else if (c === '}' || c === ']') stack.pop()
    else if (/[-0-9tfn]/.test(c)) {
      if (same(startValue())) return line
      while (i + 1 < text.length && /[-+.0-9eEa-z]/.test(text[i + 1] as string)) i++
    }
  }
  return null
}

/** `file:line: a.b[2].c` for the value at `path` (the line of its nearest ancestor when it is absent). */
export function located(text: string, fileName: string, path: readonly (string | number)[]): string {
  const name = path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('')
  for (let n = path.length; n >= 0; n--) {
    const line = lineOfPath(text, path.slice(0, n))
    if (line !== null) return `${fileName}:${line}: ${name}`
  }
  return `${fileName}: ${name}`
}
