import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { NodeClock } from '../../adapters/clock/node-clock.js'
import { OpenAIStreamClient } from '../../adapters/endpoints/openai-client.js'
import { WorkerPoolClient } from '../../adapters/endpoints/worker-pool/worker-pool-client.js'
import { ProcessClientMonitor } from '../../adapters/monitor/process-monitor.js'
import { openStore } from '../../adapters/store/sqlite-store.js'
import type { BenchConfig } from '../../core/config/bench-schema.js'
import { ConfigError, ExitCode } from '../../core/errors.js'
import { DatasetParseError, parseJsonlDataset, parseShareGptDataset, type DatasetItem } from '../../core/load/dataset.js'
import type { TraceConfig } from '../../core/config/trace-schema.js'
import { TraceParseError, type TraceRow } from '../../core/load/trace/trace-row.js'
import { checkTraceFile, readTraceRows } from '../../adapters/datasets/trace-file.js'
import { estimateCalibration } from '../../core/load/prompts.js'
import type { EventSink, MeterInfo } from '../../core/ports.js'
import type { PowerSample } from '../../core/records.js'
import { finishSummary } from '../../core/analysis/finish-summary.js'
import { parseEndpointUrl } from '../../adapters/endpoints/base-url.js'
import { createMeters } from '../../adapters/meters/index.js'
import { tapMeter } from '../../adapters/meters/tap-meter.js'
import { startLocalEngine } from '../../engines/local/index.js'
import type { RunSummary } from '../../core/summary.js'
import { runBenchmark } from '../../runtime/run-benchmark.js'
import type { CliHost } from '../host.js'
import { ProgressLine } from '../progress.js'
import { renderReport } from '../report-render.js'
import { defaultStorePath } from '../store-path.js'
import { VERSION } from '../version.js'
import { redactConfig } from './redact.js'
import { ServerClockProbe } from '../../adapters/clock/server-clock-probe.js'
import { SHARD_STORE_FILE, writeShardManifest } from './shard-output.js'

export interface BenchRunOptions {
  /** Show the live progress line (default: on). */
  readonly progress?: boolean
  /** Extra sink for run events (e.g. the demo's own output). */
  readonly events?: EventSink
  /** Sees every meter sample as it comes (the Prometheus exporter, issue 10). */
  readonly onSample?: (sample: PowerSample, info: MeterInfo) => void
}

export interface BenchRunResult {
  readonly summary: RunSummary
  readonly runDir: string
  readonly summaryPath: string
  /** The self-contained HTML report next to summary.json. */
  readonly reportPath: string
  readonly storePath: string
  /** The exit code the run deserves: 0, 99 when the SLO verdict failed, 130 when interrupted. */
  readonly exitCode: number
}

/**
 * Runs `tokenwatt bench` for a resolved config: against `target.endpoint`, or else an embedded
 * llama.cpp engine started on loopback for the run and stopped after it. Wires the real adapters
 * (client, meters, store), runs, adds energy and cost, writes summary.json.
 */
export async function runBenchFromConfig(config: BenchConfig, host: CliHost, options: BenchRunOptions = {}): Promise<BenchRunResult> {
  if (config.target.endpoint) return runAgainst(config, host, options)
  const engine = await startLocalEngine({
    engine: config.local.engine,
    size: config.local.size,
    quant: config.local.quant,
    parallel: config.local.parallel,
    threads: config.local.threads,
    ...(config.local.batchSize !== undefined ? { batchSize: config.local.batchSize } : {}),
    ...(config.local.cacheDir ? { cacheDir: resolve(host.cwd, config.local.cacheDir) } : {}),
    signal: host.signal,
    onLog: (line) => options.progress !== false && host.stderr.write(`${line}\n`),
  })
  try {
    if (options.progress !== false) host.stderr.write(`embedded ${engine.engine} engine: ${engine.model} at ${engine.baseUrl} (ready in ${(engine.startMs / 1000).toFixed(1)} s)\n`)
    const labels = { ...config.labels, engine: engine.engine, 'engine.model': engine.model }
    // An estimate meter without a process models the embedded engine, not this client.
    const meters = config.meters.map((m) => (m.kind === 'estimate' && m.pid === undefined && engine.pid !== null ? { ...m, pid: engine.pid } : m))
    return await runAgainst({ ...config, labels, meters, target: { ...config.target, endpoint: engine.baseUrl, model: config.target.model ?? engine.model } }, host, options)
  } finally {
    await engine.stop()
  }
}

async function runAgainst(config: BenchConfig, host: CliHost, options: BenchRunOptions): Promise<BenchRunResult> {
  const endpoint = config.target.endpoint
  if (!endpoint) throw new ConfigError('target.endpoint: no endpoint to benchmark', { hint: 'pass --endpoint URL' })
  const dataset = config.workload.dataset ? loadDataset(config, host.cwd) : null
  const traceRows = config.workload.trace ? await openTrace(config.workload.trace, host.cwd) : null
  const clock = new NodeClock()
  const apiKey = host.env[config.target.apiKeyEnv] ?? null
  const clientOptions = {
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
    chunkStamps: config.target.chunkStamps,
    timeouts: config.timeouts,
    clock,
  }
  // --workers: load threads, each with its own pool; this thread keeps the schedule, meters and store
  const client =
    config.workers === 1
      ? new OpenAIStreamClient(clientOptions)
      : new WorkerPoolClient({ client: clientOptions, workers: config.workers, onInfo: (message) => events.emit({ type: 'info', message }) })
  const clientMonitor = client instanceof WorkerPoolClient ? client.monitor(new ProcessClientMonitor()) : new ProcessClientMonitor()
  const runId = newRunId(clock.wallMs())
  const runDir = join(resolve(host.cwd, config.out), runId)
  // A shard keeps its records beside its summary (a pod's home folder does not outlive it).
  if (config.shard !== undefined) mkdirSync(runDir, { recursive: true })
  const storePath = config.store ? resolve(host.cwd, config.store) : config.shard !== undefined ? join(runDir, SHARD_STORE_FILE) : defaultStorePath(host.env)
  const store = openStore(storePath)
  const probe = config.shard !== undefined ? new ServerClockProbe({ url: `${rootUrl(endpoint)}/`, wallMs: () => clock.wallMs() }) : null
  const probeStop = new AbortController()
  const probing = probe?.run(probeStop.signal) ?? Promise.resolve(null)
  const tap = options.onSample
  const meters = createMeters(config.meters, { env: host.env, clock, mockBaseUrl: rootUrl(endpoint) }).map((m) => (tap ? tapMeter(m, tap) : m))
  const progress = new ProgressLine(host.stderr, () => clock.nowNs(), config.stop.requests ?? null, config.stop.durationS ?? null, options.progress !== false)
  const events: EventSink = options.events
    ? { emit: (e) => (progress.emit(e), options.events?.emit(e)) }
    : progress
  try {
    const { summary, records, samples } = await runBenchmark(config, {
      clock,
      client,
      meters,
      store,
      events,
      monitor: clientMonitor,
      dataset,
      traceRows,
      signal: host.signal,
      runId,
      toolVersion: VERSION,
      configForRecord: redactConfig(config),
      enrich: (summary, ctx) =>
        finishSummary(summary, {
          config,
          samples: ctx.samples,
          meters: ctx.meters.map((m) => m.info),
          idleWindowNs: ctx.idleWindowNs,
          epochWallMs: clock.wallMs() - clock.nowNs() / 1e6,
          records: ctx.records,
          defaultNode: hostname(),
          ...(config.coverage !== undefined ? { coverage: { expect: config.coverage, defaultNode: hostname() } } : {}),
        }),
    })
    probeStop.abort()
    mkdirSync(runDir, { recursive: true })
    const summaryPath = join(runDir, 'summary.json')
    writeFileSync(summaryPath, `${JSON.stringify(summary, null, 2)}\n`)
    const reportPath = join(runDir, 'report.html')
    try {
      const html = await renderReport('html', { summary, requests: records, powerSamples: samples })
      writeFileSync(reportPath, html)
    } catch (e) {
      host.stderr.write(`warning: the HTML report could not be written (${(e as Error).message}); \`tokenwatt report ${runId}\` can retry\n`)
    }
    // shard.json last: its presence says the shard's folder is complete (the merge job waits for it)
    if (config.shard !== undefined) {
      writeShardManifest(runDir, { runId, config, epochWallMs: clock.wallMs() - clock.nowNs() / 1e6, clockOffset: (await probing) ?? probe?.current() ?? null, clockReference: rootUrl(endpoint), storePath })
    }
    const exitCode =
      summary.status === 'interrupted'
        ? ExitCode.Interrupted
        : summary.validity?.verdict === 'invalid'
          ? ExitCode.InvalidRun
          : summary.slo.passed === false && config.slo.minAttainment !== undefined
            ? ExitCode.SloFailed
            : ExitCode.Ok
    return { summary, runDir, summaryPath, reportPath, storePath, exitCode }
  } finally {
    probeStop.abort()
    await probing
    await client.close()
    store.close()
  }
}

/** Checks every row of the trace first (line-numbered errors before any load), then streams it for the replay. */
async function openTrace(trace: TraceConfig, cwd: string): Promise<AsyncIterable<TraceRow>> {
  const path = resolve(cwd, trace.path)
  try {
    await checkTraceFile(path, trace.format, trace.blockTokens)
  } catch (e) {
    if (e instanceof TraceParseError) throw new ConfigError(`workload.trace: ${trace.path}: ${e.message}`, { hint: `is the file in the ${trace.format} format? see --trace-format and README.md (trace replay)` })
    const code = (e as NodeJS.ErrnoException).code
    throw new ConfigError(`workload.trace.path: cannot read ${trace.path}: ${code ?? (e as Error).message}`, { hint: 'check the path given to --trace' })
  }
  return readTraceRows(path, trace.format, trace.blockTokens)
}

function loadDataset(config: BenchConfig, cwd: string): DatasetItem[] {
  const ds = config.workload.dataset
  if (!ds) return []
  let text: string
  try {
    text = readFileSync(resolve(cwd, ds.path), 'utf8')
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

function rootUrl(endpoint: string): string {
  const u = parseEndpointUrl(endpoint)
  return `${u.origin}${u.rootPath}`
}

/** Sortable, unique run ids: 20261130-121500-a1b2c3. */
export function newRunId(wallMs: number): string {
  const iso = new Date(wallMs).toISOString()
  return `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}-${randomBytes(3).toString('hex')}`
}
