import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { isAbsolute, join, resolve } from 'node:path'
import { NodeClock } from '../../adapters/clock/node-clock.js'
import { OpenAIStreamClient } from '../../adapters/endpoints/openai-client.js'
import { ProcessClientMonitor } from '../../adapters/monitor/process-monitor.js'
import { openStore } from '../../adapters/store/sqlite-store.js'
import type { BenchConfig } from '../../core/config/bench-schema.js'
import { ConfigError, ExitCode } from '../../core/errors.js'
import { DatasetParseError, parseJsonlDataset, parseShareGptDataset, type DatasetItem } from '../../core/load/dataset.js'
import { estimateCalibration } from '../../core/load/prompts.js'
import type { EventSink, PowerMeter } from '../../core/ports.js'
import type { RunSummary } from '../../core/summary.js'
import { runBenchmark } from '../../runtime/run-benchmark.js'
import type { CliHost } from '../host.js'
import { ProgressLine } from '../progress.js'
import { defaultStorePath } from '../store-path.js'
import { VERSION } from '../version.js'
import { redactConfig } from './redact.js'

export interface BenchRunOptions {
  /** Show the live progress line (default: on). */
  readonly progress?: boolean
  /** Meters to read beside the load (built by the caller from config.meters). */
  readonly meters?: readonly PowerMeter[]
  /** Called with the summary before it is stored, to add energy and cost figures. */
  readonly enrich?: Parameters<typeof runBenchmark>[1]['enrich']
  /** Extra sink for run events (e.g. the demo's own output). */
  readonly events?: EventSink
}

export interface BenchRunResult {
  readonly summary: RunSummary
  readonly runDir: string
  readonly summaryPath: string
  readonly storePath: string
  /** The exit code the run deserves: 0, 99 when the SLO verdict failed, 130 when interrupted. */
  readonly exitCode: number
}

/**
 * Runs `tokenwatt bench` for a resolved config against `config.target.endpoint` (the caller starts an
 * embedded engine first when there is none): wires the real adapters, runs, writes summary.json.
 */
export async function runBenchFromConfig(config: BenchConfig, host: CliHost, options: BenchRunOptions = {}): Promise<BenchRunResult> {
  const endpoint = config.target.endpoint
  if (!endpoint) throw new ConfigError('target.endpoint: no endpoint to benchmark', { hint: 'pass --endpoint URL' })
  const dataset = config.workload.dataset ? loadDataset(config, host.cwd) : null
  const clock = new NodeClock()
  const apiKey = host.env[config.target.apiKeyEnv] ?? null
  const client = new OpenAIStreamClient({
    baseUrl: endpoint,
    model: config.target.model ?? null,
    api: config.target.api,
    apiKey: apiKey && apiKey.length > 0 ? apiKey : null,
    apiKeyEnv: config.target.apiKeyEnv,
    headers: config.target.headers,
    ignoreEos: config.target.ignoreEos,
    minTokens: config.target.minTokens,
    extraBody: config.target.extraBody,
    continuousUsage: config.target.continuousUsage,
    requireUsage: config.target.requireUsage,
    timeouts: config.timeouts,
    clock,
  })
  const storePath = config.store ? absolute(config.store, host.cwd) : defaultStorePath(host.env)
  const store = openStore(storePath)
  const runId = newRunId(clock.wallMs())
  const progress = new ProgressLine(host.stderr, () => clock.nowNs(), config.stop.requests ?? null, config.stop.durationS ?? null, options.progress !== false)
  const events: EventSink = options.events
    ? { emit: (e) => (progress.emit(e), options.events?.emit(e)) }
    : progress
  try {
    const { summary } = await runBenchmark(config, {
      clock,
      client,
      meters: options.meters ?? [],
      store,
      events,
      monitor: new ProcessClientMonitor(),
      dataset,
      signal: host.signal,
      runId,
      toolVersion: VERSION,
      configForRecord: redactConfig(config),
      ...(options.enrich ? { enrich: options.enrich } : {}),
    })
    const runDir = join(absolute(config.out, host.cwd), runId)
    mkdirSync(runDir, { recursive: true })
    const summaryPath = join(runDir, 'summary.json')
    writeFileSync(summaryPath, `${JSON.stringify(summary, null, 2)}\n`)
    const exitCode = summary.status === 'interrupted' ? ExitCode.Interrupted : summary.slo.passed === false && config.slo.minAttainment !== undefined ? ExitCode.SloFailed : ExitCode.Ok
    return { summary, runDir, summaryPath, storePath, exitCode }
  } finally {
    await client.close()
    store.close()
  }
}

function loadDataset(config: BenchConfig, cwd: string): DatasetItem[] {
  const ds = config.workload.dataset
  if (!ds) return []
  let text: string
  try {
    text = readFileSync(absolute(ds.path, cwd), 'utf8')
  } catch (e) {
    throw new ConfigError(`workload.dataset.path: cannot read ${ds.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { hint: 'check the path given to --dataset' })
  }
  try {
    if (ds.format === 'sharegpt') {
      const cal = estimateCalibration(config.workload.charsPerToken)
      return parseShareGptDataset(text, (t) => Math.round(t.split(/\s+/).filter(Boolean).length * cal.tokensPerWord))
    }
    return parseJsonlDataset(text)
  } catch (e) {
    if (e instanceof DatasetParseError) {
      throw new ConfigError(`workload.dataset: ${ds.path}: ${e.message}`, { hint: ds.format === 'jsonl' ? 'JSONL lines need "prompt" or "messages"; use --dataset-format sharegpt for ShareGPT files' : 'expected a ShareGPT JSON array' })
    }
    throw e
  }
}

function absolute(p: string, cwd: string): string {
  return isAbsolute(p) ? p : resolve(cwd, p)
}

/** Sortable, unique run ids: 20261130-121500-a1b2c3. */
export function newRunId(wallMs: number): string {
  const iso = new Date(wallMs).toISOString()
  return `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}-${randomBytes(3).toString('hex')}`
}
