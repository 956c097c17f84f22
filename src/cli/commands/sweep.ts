import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Command, Option } from 'commander'
import { NodeClock } from '../../adapters/clock/node-clock.js'
import { defaultKnobJournalPath } from '../../adapters/knobs/knob-journal.js'
import { KnobSession } from '../../adapters/knobs/knob-session.js'
import { RestartedServer } from '../../adapters/knobs/server-restart.js'
import type { BenchConfig } from '../../core/config/bench-schema.js'
import { ConfigError, ExitCode } from '../../core/errors.js'
import { parseKnobSpec } from '../../core/sweep/knob-spec.js'
import { OBJECTIVES, SweepSectionSchema, type SweepSection } from '../../core/sweep/sweep-schema.js'
import { TASK_OBJECTIVES } from '../../core/sweep/objective.js'
import { startBenchDashboard } from '../../dashboard/bench-dashboard.js'
import { startLocalEngine } from '../../engines/local/index.js'
import { runSweep } from '../../runtime/run-sweep.js'
import { addBenchOptions } from '../bench/bench-options.js'
import { newRunId, runBenchFromConfig } from '../bench/bench-runner.js'
import { redactConfig } from '../bench/redact.js'
import { readConfigFile, resolveConfig, type ConfigFile } from '../config/load-config.js'
import { addCostOptions } from '../cost-options.js'
import type { CliContext } from '../cli-context.js'
import { addMeterOptions } from '../meter-options.js'
import { collect, nonNegativeInt, positiveInt, number } from '../parse-args.js'
import { renderSweepSummary } from '../render-sweep.js'
import { writeSweepReport } from '../sweep-report.js'
import { benchConfigFrom } from './bench.js'
import { readSweep } from '../sweep-file.js'

const HINT = 'see `tokenwatt sweep --help` and docs/config.md (sweep:)'

/** The bench config and the sweep section of -c FILE plus flags (the file's `sweep:` key holds the section). */
export function sweepConfigFrom(opts: Record<string, unknown>, cmd: Command, ctx: CliContext): { base: BenchConfig; sweep: SweepSection } {
  const file = typeof opts.config === 'string' ? readConfigFile(opts.config, ctx.host.cwd) : null
  const data = (file?.data ?? {}) as Record<string, unknown>
  const { sweep: fileSweep, ...rest } = data
  const benchFile: ConfigFile | null = file ? { ...file, data: rest } : null
  const base = benchConfigFrom(opts, cmd, ctx, [], benchFile)
  const flags: Record<string, unknown> = {}
  const knobFlags = (opts.knob as string[] | undefined) ?? []
  if (knobFlags.length > 0) {
    const parsed = knobFlags.map(parseKnobSpec)
    const fileKnobs = ((fileSweep as Record<string, unknown> | undefined)?.knobs as Record<string, unknown>[] | undefined) ?? []
    // a --knob replaces the file's knob of the same name (keeping its device options), others are kept
    const byName = new Map(fileKnobs.map((k) => [String(k.name), k]))
    for (const p of parsed) byName.set(p.name, { ...(byName.get(p.name) ?? {}), name: p.name, values: p.values, range: undefined })
    flags.knobs = [...byName.values()].map((k) => Object.fromEntries(Object.entries(k).filter(([, v]) => v !== undefined)))
  }
  if (opts.strategy !== undefined) flags.strategy = opts.strategy
  if (opts.objective !== undefined) flags.objective = opts.objective
  if (opts.repeats !== undefined) flags.repeats = opts.repeats
  if (opts.settleS !== undefined) flags.settleS = opts.settleS
  if (opts.journal !== undefined) flags.journal = opts.journal
  if (opts.serverCommand !== undefined) flags.server = { ...((fileSweep as { server?: object } | undefined)?.server ?? {}), command: opts.serverCommand, ...(opts.serverHealthUrl !== undefined ? { healthUrl: opts.serverHealthUrl } : {}) }
  if (fileSweep === undefined && flags.knobs === undefined) throw new ConfigError('sweep: no knobs to sweep', { hint: 'pass --knob NAME=V1,V2,… (or NAME=LO:HI:STEP), or a sweep: section in -c FILE' })
  const sweepFile: ConfigFile | null = file ? { ...file, data: fileSweep ?? {}, lineOf: (p) => file.lineOf(['sweep', ...p]) } : null
  const sweep = resolveConfig(SweepSectionSchema, sweepFile, flags, HINT)
  const names = sweep.knobs.map((k) => k.name)
  const dup = names.find((n, i) => names.indexOf(n) !== i)
  if (dup) throw new ConfigError(`sweep.knobs: ${dup} is given twice`, { hint: 'give each knob once; its values list every setting' })
  if (names.some((n) => n.startsWith('server.')) && !sweep.server) throw new ConfigError('sweep: server.* knobs need a restart command', { hint: 'pass --server-command "vllm serve M --max-num-seqs {max_num_seqs}" (or sweep.server.command)' })
  if (names.some((n) => n.startsWith('engine.')) && base.target.endpoint) throw new ConfigError('sweep: engine.* knobs drive the embedded engine, but --endpoint names a server', { hint: 'drop --endpoint to sweep the embedded engine, or use server.NAME knobs with --server-command for your server' })
  if (names.includes('concurrency') && names.includes('rate')) throw new ConfigError('sweep: concurrency and rate cannot both be swept', { hint: 'sweep one load knob: concurrency (closed loop) or rate (open loop)' })
  if (TASK_OBJECTIVES.includes(sweep.objective) && !base.workload.sessions && base.workload.trace === undefined) {
    throw new ConfigError(`sweep: the objective ${sweep.objective} needs a session workload`, { hint: 'give workload.sessions (or --turns N) or a session trace (--trace FILE --trace-format weka), or use joules-per-good-token' })
  }
  if (base.meters.length === 0 && !sweep.objective.startsWith('usd-')) {
    throw new ConfigError(`sweep: the objective ${sweep.objective} needs power, but no meter is given`, { hint: 'pass --meter nvml (NVIDIA), rapl (CPU package), ipmi/redfish (node) or estimate:IDLE-MAX (a CPU-time model)' })
  }
  return { base, sweep }
}

export function registerSweep(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('sweep')
    .description('Search power caps × server settings × load for the best joules per good token inside the SLO (every hardware knob restored)')
    .option('-c, --config <file>', 'YAML config: a bench config plus a sweep: section (flags override it)')
    .option('--knob <NAME=VALUES>', 'a knob and its values, NAME=V1,V2,… or NAME=LO:HI:STEP (repeatable; the grid is their product)', collect)
    .addOption(new Option('--strategy <s>', 'grid: every point; adaptive: nested golden-section search (default grid)').choices(['grid', 'adaptive']))
    .addOption(new Option('--objective <o>', 'what the optimum is best at (default joules-per-good-token)').choices([...OBJECTIVES]))
    .option('--repeats <n>', 'runs per point (default 1)', positiveInt)
    .option('--settle-s <s>', 'least seconds between a hardware change and the point\'s load (default 0)', number)
    .option('--resume <sweep-id>', 'continue a stopped sweep from its sweep.json (same flags and config)')
    .option('--journal <file>', 'restore journal (default $TOKENWATT_KNOB_JOURNAL or ~/.local/state/tokenwatt/knobs-journal.json)')
    .option('--server-command <template>', 'restart the server per point: a shell command with {NAME} for knob server.NAME')
    .option('--server-health-url <url>', 'URL answering 200 once the restarted server is ready (default ENDPOINT/v1/models)')
    .option('--json', 'print sweep.json to stdout instead of the table')
    .option('--no-progress', 'no progress lines')
    .option('--dashboard [[host:]port]', 'serve the web dashboard while the sweep runs (its points grow there); default 127.0.0.1:8787')
  addBenchOptions(cmd)
  addMeterOptions(cmd)
  addCostOptions(cmd)
  void nonNegativeInt
  cmd.action(async (opts: Record<string, unknown>, command: Command) => {
    const { base, sweep } = sweepConfigFrom(opts, command, ctx)
    const host = ctx.host
    const outRoot = resolve(host.cwd, base.out)
    const resume = typeof opts.resume === 'string' ? readSweep(join(outRoot, opts.resume, 'sweep.json'), opts.resume) : null
    const clock = new NodeClock()
    const id = resume?.id ?? `sweep-${newRunId(clock.wallMs())}`
    const dir = join(outRoot, id)
    mkdirSync(dir, { recursive: true })
    const sweepPath = join(dir, 'sweep.json')
    const progress = opts.progress !== false
    const say = (line: string): void => void (progress && host.stderr.write(`${line}\n`))
    if (resume) {
      const axesNow = JSON.stringify(sweep.knobs.map((k) => k.name))
      const axesThen = JSON.stringify(resume.axes.map((a) => a.name))
      if (axesNow !== axesThen) throw new ConfigError(`--resume ${id}: the sweep was over ${axesThen}, these flags sweep ${axesNow}`, { hint: 'resume with the same -c file and --knob flags' })
      say(`resuming ${id}: ${resume.points.filter((p) => !p.baseline).length} points already measured`)
    }
    const pointsOut = join(dir, 'runs')
    let engineStop: (() => Promise<void>) | null = null
    let pointBase: BenchConfig = { ...base, out: pointsOut }
    const engineKnobs = sweep.knobs.some((k) => k.name.startsWith('engine.'))
    const server = sweep.server ? new RestartedServer() : null
    const dashboard = opts.dashboard !== undefined ? await startBenchDashboard(opts.dashboard, base, host) : null
    try {
      if (!base.target.endpoint && !engineKnobs) {
        // One embedded engine for every point (engine.* knobs restart it per point instead).
        const engine = await startLocalEngine({ engine: base.local.engine, size: base.local.size, quant: base.local.quant, parallel: base.local.parallel, threads: base.local.threads, ...(base.local.batchSize !== undefined ? { batchSize: base.local.batchSize } : {}), ...(base.local.cacheDir ? { cacheDir: resolve(host.cwd, base.local.cacheDir) } : {}), signal: host.signal, onLog: (l) => say(l) })
        engineStop = () => engine.stop()
        say(`embedded ${engine.engine} engine: ${engine.model} at ${engine.baseUrl}`)
        const meters = base.meters.map((m) => (m.kind === 'estimate' && m.pid === undefined && engine.pid !== null ? { ...m, pid: engine.pid } : m))
        pointBase = { ...pointBase, meters, labels: { ...base.labels, engine: engine.engine, 'engine.model': engine.model }, target: { ...base.target, endpoint: engine.baseUrl, model: base.target.model ?? engine.model } }
      }
      const endpoint = pointBase.target.endpoint
      const healthUrl = sweep.server?.healthUrl ?? (endpoint ? `${endpoint.replace(/\/+$/, '').replace(/\/v1$/, '')}/v1/models` : '')
      const session = new KnobSession(sweep.journal ? resolve(host.cwd, sweep.journal) : defaultKnobJournalPath(host.env), host.env)
      const result = await runSweep(
        { id, base: pointBase, sweep, resume, configForRecord: { ...(redactConfig(base) as object), sweep } },
        {
          clock,
          knobs: session,
          server:
            server && sweep.server
              ? { ensure: (command) => server.ensure({ command, healthUrl, startTimeoutS: sweep.server?.startTimeoutS ?? 600, stopTimeoutS: sweep.server?.stopTimeoutS ?? 30, logPath: join(dir, 'server.log'), signal: host.signal, onLog: say }), stop: () => server.stop(sweep.server?.stopTimeoutS) }
              : null,
          runPoint: (config) => runBenchFromConfig(config, host, { progress: progress && host.stderr.isTTY }),
          persist: (r) => writeAtomic(sweepPath, `${JSON.stringify(r, null, 2)}\n`),
          progress: say,
          signal: host.signal,
          wallIso: () => new Date(clock.wallMs()).toISOString(),
        },
      )
      const reportPath = join(dir, 'report.html')
      await writeSweepReport(result, reportPath, (w) => host.stderr.write(`warning: ${w}\n`))
      if (opts.json === true) host.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
      else {
        host.stdout.write(renderSweepSummary(result))
        host.stdout.write(`sweep:  ${sweepPath}\nreport: ${reportPath}\n`)
      }
      ctx.exitCode = result.status === 'interrupted' ? ExitCode.Interrupted : result.chosen === null ? ExitCode.SloFailed : ExitCode.Ok
    } finally {
      await server?.stop()
      await engineStop?.()
      await dashboard?.close()
    }
  })
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, text)
  renameSync(tmp, path)
}
