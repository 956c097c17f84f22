/**
 * One entry point for every import format: the text of the file the tool wrote → the runs it holds
 * (GuideLLM sweeps and GenAI-Perf experiments hold several). Pure.
 */
import { AIPERF_SUPPORTED, parseAiperfJsonl } from './aiperf.js'
import { AIPERF_SUMMARY_SUPPORTED, parseAiperfSummary } from './aiperf-summary.js'
import { GENAI_PERF_SUPPORTED, parseGenaiPerfExport } from './genai-perf.js'
import { GUIDELLM_SUPPORTED, parseGuidellmReport } from './guidellm.js'
import type { ImportedRun, ImportFormat } from './imported-run.js'
import { INFERENCEX_SUPPORTED, parseInferencexResult } from './inferencex.js'
import { parseVllmResult, VLLM_SUPPORTED } from './vllm.js'

export interface ParseImportOptions {
  readonly fileName: string
  /** The run's start (wall ms), overriding the file's clock (vLLM writes local time) or supplying it (InferenceX). */
  readonly startWallMs?: number
}

/** The result shapes each format's reader knows, for `--help`, errors and the README. */
export const SUPPORTED_VERSIONS: Readonly<Record<ImportFormat, readonly string[]>> = {
  vllm: VLLM_SUPPORTED,
  aiperf: [...AIPERF_SUPPORTED, ...AIPERF_SUMMARY_SUPPORTED],
  'genai-perf': GENAI_PERF_SUPPORTED,
  guidellm: GUIDELLM_SUPPORTED,
  inferencex: INFERENCEX_SUPPORTED,
}

/** AIPerf writes two files: one JSON object (the aggregate) or JSON lines with `metadata` (records). */
function isAiperfSummary(text: string): boolean {
  try {
    const doc = JSON.parse(text) as unknown
    return doc !== null && typeof doc === 'object' && !Array.isArray(doc) && !('metadata' in doc)
  } catch {
    return false
  }
}

export function parseImport(format: ImportFormat, text: string, opts: ParseImportOptions): ImportedRun[] {
  const start = opts.startWallMs !== undefined ? { startWallMs: opts.startWallMs } : {}
  switch (format) {
    case 'vllm':
      return [parseVllmResult(text, { fileName: opts.fileName, ...start })]
    case 'aiperf':
      return [isAiperfSummary(text) ? parseAiperfSummary(text, opts.fileName) : parseAiperfJsonl(text, opts.fileName)]
    case 'genai-perf':
      return parseGenaiPerfExport(text, opts.fileName)
    case 'guidellm':
      return parseGuidellmReport(text, opts.fileName)
    case 'inferencex':
      return [parseInferencexResult(text, { fileName: opts.fileName, ...start })]
  }
}
