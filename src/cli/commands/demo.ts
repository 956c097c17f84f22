import { mkdirSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join, resolve } from 'node:path'
import { Command, InvalidArgumentError, Option } from 'commander'
import { NodeClock } from '../../adapters/clock/node-clock.js'
import { createMeter } from '../../adapters/meters/index.js'
import { BenchConfigSchema } from '../../core/config/bench-schema.js'
import { MeterSpecSchema, parseMeterFlag } from '../../core/config/meters-schema.js'
import { ConfigError, ExitCode } from '../../core/errors.js'
import type { RunSummary } from '../../core/summary.js'
import { LOCAL_ENGINE_DEFAULTS, MODEL_QUANTS, MODEL_SIZE_NAMES, defaultCacheDir, isModelQuant, isModelSize, startLocalEngine, type LocalEngine } from '../../engines/local/index.js'
import { newRunId, runBenchFromConfig } from '../bench/bench-runner.js'
import { redactConfig } from '../bench/redact.js'
import { runSweep } from '../../runtime/run-sweep.js'
import { SweepSectionSchema } from '../../core/sweep/sweep-schema.js'
import type { SweepResult } from '../../core/sweep/sweep-result.js'
import { writeSweepReport } from '../sweep-report.js'
import { resolveConfig } from '../config/load-config.js'
import { addCostOptions, costOptionsToConfig, type CostOptions } from '../cost-options.js'
import type { CliContext } from '../cli-context.js'
import { collect, durationS, positiveInt } from '../parse-args.js'

interface DemoFlags extends CostOptions {
  size: string
  quant: string
  engine: 'node' | 'llama-server'
  users: number[]
  stepDuration: number
  input: number
  output: number
  meter?: string[]
  out: string
  store?: string
  cacheDir?: string
  json?: boolean
}

interface DemoStep {
  readonly users: number
  readonly runId: string
  readonly summaryPath: string
  readonly reportPath: string
  readonly status: RunSummary['status']
  readonly requestsOk: number
  readonly requestsFailed: number
  readonly outputTokensPerS: number
  readonly ttftP50Ms: number | null
  readonly tpotP50Ms: number | null
  readonly e2eP50Ms: number | null
  readonly interactivityP50TokPerS: number | null
  readonly joulesPerOutputToken: number | null
  readonly outputTokensPerJoule: number | null
  readonly energyBoundary: string | null
  /** True when every power figure behind the energy came from a model (the CPU-time estimate), none from a meter. */
  readonly energyEstimated: boolean
  /** What the cost covers: electricity only, rent, or own. */
  readonly costMode: string | null
  readonly usdPerMillionOutputTokens: number | null
}

function userList(value: string): number[] {
  const list = value.split(',').map((s) => Number(s.trim()))
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1)) throw new InvalidArgumentError('expected a list of positive whole numbers such as 1,2,4')
  return list
}

const fmt = (v: number | null, digits: number): string => (v === null || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits))

function stepOf(users: number, summary: RunSummary, summaryPath: string, reportPath: string): DemoStep {
  return {
    users,
    runId: summary.id,
    summaryPath,
    reportPath,
    status: summary.status,
    requestsOk: summary.requests.succeeded,
    requestsFailed: summary.requests.failed,
    outputTokensPerS: summary.throughput.outputTokensPerS,
    ttftP50Ms: summary.latency.ttftMs.p50,
    tpotP50Ms: summary.latency.tpotMs.p50,
    e2eP50Ms: summary.latency.e2eMs.p50,
    interactivityP50TokPerS: summary.latency.interactivityTokPerS.p50,
    joulesPerOutputToken: summary.efficiency?.joulesPerOutputToken ?? null,
    outputTokensPerJoule: summary.efficiency?.outputTokensPerJoule ?? null,
    energyBoundary: summary.efficiency?.boundary ?? null,
    energyEstimated: summary.power !== null && summary.power.meters.every((m) => !m.measured),
    costMode: typeof summary.cost?.mode === 'string' ? summary.cost.mode : null,
    usdPerMillionOutputTokens: summary.cost?.usdPerMillionOutputTokens ?? null,
  }
}

function stepLine(s: DemoStep): string {
  const energy = s.joulesPerOutputToken !== null ? `, ${fmt(s.joulesPerOutputToken * 1000, 2)} mJ/output token @ ${s.energyBoundary}${s.energyEstimated ? ' (estimated)' : ''}` : ''
  const cost = s.usdPerMillionOutputTokens !== null ? `, $${fmt(s.usdPerMillionOutputTokens, 4)}/M output tokens${s.costMode === 'energy-only' ? ' (electricity only)' : ''}` : ''
  return (
    `${String(s.users).padStart(3)} user${s.users === 1 ? ' ' : 's'}: ${fmt(s.outputTokensPerS, 1).padStart(7)} output tok/s | TTFT p50 ${fmt(s.ttftP50Ms, 0)} ms | ` +
    `TPOT p50 ${fmt(s.tpotP50Ms, 2)} ms (${fmt(s.interactivityP50TokPerS, 0)} tok/s/user) | E2E p50 ${fmt(s.e2eP50Ms, 0)} ms | ${s.requestsOk} ok, ${s.requestsFailed} failed${energy}${cost}`
  )
}

/** Meters for the demo: the user's, with `estimate` bound to the engine process; else RAPL when readable. */
async function demoMeters(flags: string[] | undefined, engine: LocalEngine, ctx: CliContext): Promise<{ meters: unknown[]; note: string | null }> {
  if (flags && flags.length > 0) {
    const meters = flags.map((f) => {
      const spec = parseMeterFlag(f) as Record<string, unknown>
      if (spec['kind'] === 'estimate' && spec['pid'] === undefined && engine.pid !== null) return { ...spec, pid: engine.pid }
      return spec
    })
    return { meters, note: null }
  }
  const rapl = MeterSpecSchema.parse({ kind: 'rapl' })
  try {
    await createMeter(rapl, { env: ctx.host.env, clock: new NodeClock() }).preflight()
    return { meters: [{ kind: 'rapl' }], note: 'power: RAPL (CPU package + DRAM counters) at the node boundary' }
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e)
    if (engine.pid === null) return { meters: [], note: `power: no meter readable here (${why}); energy and cost figures are n/a` }
    // Nothing to measure with: model the engine's power from its CPU time, and say so loudly.
    const cores = availableParallelism()
    const idleW = ESTIMATE_IDLE_W_PER_CPU * cores
    const maxW = ESTIMATE_MAX_W_PER_CPU * cores
    return {
      meters: [{ kind: 'estimate', idleW, maxW, pid: engine.pid, boundary: 'node' }],
      note:
        `power: ESTIMATED, not measured — no meter is readable here (${why}). Energy is modelled from the engine's CPU time × ` +
        `a declared profile of ${idleW}–${maxW} W for ${cores} CPUs (${ESTIMATE_IDLE_W_PER_CPU}–${ESTIMATE_MAX_W_PER_CPU} W per hardware thread, ` +
        'a server CPU\'s idle and TDP share per thread); figures are labelled modelled. Measure with --meter rapl (as root) or --meter file:wall-meter.csv',
    }
  }
}

function withoutPue(flags: CostOptions): CostOptions {
  const { pue: _pue, ...rest } = flags
  return rest
}

/**
 * The declared utilisation profile of the demo's fallback estimate, per hardware thread: a current
 * server CPU idles near 1.5 W and reaches its TDP share near 4.5 W per thread (e.g. a 64-core, 128-thread
 * 360 W part: 2.8 W of TDP per thread plus memory and uncore). Illustrative, always labelled an estimate.
 */
const ESTIMATE_IDLE_W_PER_CPU = 1.5
const ESTIMATE_MAX_W_PER_CPU = 4.5
/** Electricity price the demo prices energy at unless --usd-per-kwh says otherwise (US commercial average, EIA, 2025). */
const DEMO_USD_PER_KWH = 0.13

export function registerDemo(program: Command, ctx: CliContext): void {
  const demo = program
    .command('demo')
    .description('Start a llama.cpp engine on this machine (generated model, no GPU, no download), run a short 1/2/4-user sweep and report what can be measured')
    .addOption(new Option('--size <size>', 'model size').default('small').choices(MODEL_SIZE_NAMES))
    .addOption(new Option('--quant <type>', 'weight type').default(LOCAL_ENGINE_DEFAULTS.quant).choices(MODEL_QUANTS))
    .addOption(new Option('--engine <engine>', 'node (prebuilt, ready at once) or llama-server (after `tokenwatt engine build`)').default('node').choices(['node', 'llama-server']))
    .addOption(new Option('--users <list>', 'concurrent users per step').default([1, 2, 4], '1,2,4').argParser(userList))
    .addOption(new Option('--step-duration <d>', 'length of each step').default(20, '20s').argParser(durationS))
    .addOption(new Option('--input <tokens>', 'prompt tokens per request').default(128).argParser(positiveInt))
    .addOption(new Option('--output <tokens>', 'output tokens per request').default(64).argParser(positiveInt))
    .addOption(new Option('--meter <spec>', 'power meter (repeatable), as for bench: rapl, estimate:IDLE-MAX, file:power.csv, ... (default: RAPL when readable, else a labelled CPU-time estimate of the engine)').argParser(collect))
    .option('--out <dir>', 'directory for run results', 'tokenwatt-runs')
    .option('--store <file>', 'SQLite results store (default: the user data directory)')
    .option('--cache-dir <dir>', 'model and engine cache (default $XDG_CACHE_HOME/tokenwatt or ~/.cache/tokenwatt)')
    .option('--json', 'print the demo summary as JSON on stdout')
  addCostOptions(demo).action(async (flags: DemoFlags) => {
      const { stdout, stderr } = ctx.host
      if (!isModelSize(flags.size) || !isModelQuant(flags.quant)) throw new ConfigError('invalid --size or --quant')
      const say = (line: string): void => {
        if (flags.json === true) stderr.write(`${line}\n`)
        else stdout.write(`${line}\n`)
      }
      const started = performance.now()
      const cacheDir = flags.cacheDir ?? defaultCacheDir(ctx.host.env)
      say(`tokenwatt demo: ${flags.users.join(', ')} concurrent users, ${flags.stepDuration} s each, ${flags.input} prompt + ${flags.output} output tokens per request`)
      const engine = await startLocalEngine({
        engine: flags.engine,
        size: flags.size,
        quant: flags.quant,
        parallel: Math.max(...flags.users),
        cacheDir,
        signal: ctx.host.signal,
        onLog: (line) => {
          if (!line.startsWith('llama-server: ') || ctx.verbose) stderr.write(`${line}\n`)
        },
      })
      const steps: DemoStep[] = []
      let sweep: SweepResult | null
      try {
        const m = engine.modelFile
        say(
          `engine: ${engine.engine === 'node' ? 'llama.cpp via node-llama-cpp (prebuilt, CPU)' : 'upstream llama-server (CPU)'}, pid ${engine.pid ?? '-'}, ` +
            `model ${m.name} (${(m.parameters / 1e6).toFixed(1)}M params${m.generated ? `, generated in ${(m.generateMs / 1000).toFixed(1)} s` : ''}), ready in ${(engine.startMs / 1000).toFixed(1)} s at ${engine.baseUrl}`,
        )
        const { meters, note } = await demoMeters(flags.meter, engine, ctx)
        if (note) say(note)
        // The steps are a sweep over users: each an ordinary stored run, and together a sweep.json
        // with its frontier (throughput per MW against interactivity) and its optimum.
        const baseConfig = resolveConfig(BenchConfigSchema, null, {
          target: { endpoint: engine.baseUrl, model: engine.model, api: 'chat' },
          workload: { input: { type: 'fixed', value: flags.input }, output: { type: 'fixed', value: flags.output } },
          load: { type: 'closed-loop', concurrency: 1 },
          stop: { durationS: flags.stepDuration },
          meters,
          boundary: meters.length > 0 ? 'node' : 'device',
          // One PUE: the energy attribution's facility level, which the cost model then prices.
          cost: { usdPerKwh: DEMO_USD_PER_KWH, ...(costOptionsToConfig(withoutPue(flags)) as Record<string, unknown> | undefined) },
          ...(flags.pue !== undefined ? { attribution: { facility: { pue: flags.pue } } } : {}),
          out: flags.out,
          ...(flags.store !== undefined ? { store: flags.store } : {}),
          labels: { demo: 'true', engine: engine.engine, 'engine.model': engine.model },
        }, 'see `tokenwatt demo --help`')
        const clock = new NodeClock()
        const sweepId = `sweep-${newRunId(clock.wallMs())}`
        const noKnobs = { open: () => undefined, current: () => ({}), apply: (): never => { throw new ConfigError('the demo changes no hardware') }, throttledForPowerNs: () => null, restoreAll: () => ({ restored: [], failed: [] }), close: () => undefined }
        sweep = await runSweep(
          { id: sweepId, base: baseConfig, sweep: SweepSectionSchema.parse({ knobs: [{ name: 'concurrency', values: flags.users }] }), resume: null, configForRecord: redactConfig(baseConfig) },
          {
            clock,
            knobs: noKnobs,
            server: null,
            runPoint: async (config) => {
              const users = config.load.type === 'closed-loop' ? config.load.concurrency : 1
              const result = await runBenchFromConfig({ ...config, warmupRequests: users, labels: { ...config.labels, users: String(users) } }, ctx.host, { progress: !flags.json })
              const step = stepOf(users, result.summary, result.summaryPath, result.reportPath)
              steps.push(step)
              say(stepLine(step))
              return result
            },
            persist: () => undefined,
            progress: () => undefined,
            signal: ctx.host.signal,
            wallIso: () => new Date(clock.wallMs()).toISOString(),
          },
        ).catch((e: unknown) => {
          if (ctx.host.signal.aborted) return null
          throw e
        })
      } finally {
        await engine.stop()
      }
      const totalS = (performance.now() - started) / 1000
      const out = resolve(ctx.host.cwd, flags.out)
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-')
      const dir = join(out, `demo-${stamp}`)
      mkdirSync(dir, { recursive: true })
      const record = {
        schema: 'tokenwatt.demo/v1',
        engine: { kind: engine.engine, model: engine.model, parameters: engine.modelFile.parameters, quant: engine.modelFile.quant, startS: engine.startMs / 1000, threads: engine.settings.threads, parallel: engine.settings.parallel },
        workload: { inputTokens: flags.input, outputTokens: flags.output, stepDurationS: flags.stepDuration },
        totalS,
        steps,
      }
      writeFileSync(join(dir, 'demo.json'), `${JSON.stringify(record, null, 2)}\n`)
      let sweepReport: string | null = null
      if (sweep) {
        writeFileSync(join(dir, 'sweep.json'), `${JSON.stringify(sweep, null, 2)}\n`)
        sweepReport = join(dir, 'sweep.html')
        await writeSweepReport(sweep, sweepReport, (w) => stderr.write(`warning: ${w}\n`))
      }
      const best = steps.reduce<DemoStep | null>((b, s) => (b === null || s.outputTokensPerS > b.outputTokensPerS ? s : b), null)
      if (flags.json === true) stdout.write(`${JSON.stringify(record, null, 2)}\n`)
      else {
        if (best) say(`best throughput: ${fmt(best.outputTokensPerS, 1)} output tok/s at ${best.users} user${best.users === 1 ? '' : 's'}`)
        if (engine.engine === 'node' && steps.length > 1) {
          say('note: the node engine batches sequences, but on a few CPU cores its throughput stays about flat while per-user latency grows; `tokenwatt engine build` then `--engine llama-server` shows continuous-batching gains')
        }
        if (sweep?.chosen) say(`lowest energy per good token: ${sweep.chosen.key} (${fmt(sweep.chosen.objective.value === null ? null : sweep.chosen.objective.value * 1000, 2)} mJ/token${sweep.chosen.confidence === 'within-noise' ? `, within noise of ${sweep.chosen.tiedWith.join('; ')}` : ''}); frontier: ${sweep.frontier.join(' | ') || 'n/a'}`)
        say(`demo finished in ${totalS.toFixed(0)} s; demo summary: ${join(dir, 'demo.json')}`)
        if (sweepReport) say(`sweep of the steps (frontier, J/token by users): ${sweepReport}`)
        for (const s of steps) say(`  ${s.users} user${s.users === 1 ? ' ' : 's'}: report ${s.reportPath}`)
        if (steps.length > 0) say('open a report in a browser, or compare the steps: tokenwatt compare ' + steps.map((s) => s.runId).join(' '))
      }
      if (ctx.host.signal.aborted) ctx.exitCode = ExitCode.Interrupted
      else if (steps.some((s) => s.requestsOk === 0)) ctx.exitCode = ExitCode.Failure
    })
}
