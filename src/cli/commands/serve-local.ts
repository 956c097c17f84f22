import { Command, InvalidArgumentError, Option } from 'commander'
import { ConfigError } from '../../core/errors.js'
import {
  LOCAL_ENGINE_DEFAULTS,
  MODEL_QUANTS,
  MODEL_SIZE_NAMES,
  defaultCacheDir,
  ensureModelFile,
  findLlamaServer,
  isModelQuant,
  isModelSize,
  serveNodeEngine,
  startLocalEngine,
  type EngineKind,
  type ModelFile,
} from '../../engines/local/index.js'
import type { CliContext } from '../cli-context.js'
import { nonNegativeInt, positiveInt } from '../parse-args.js'

interface ServeLocalFlags {
  size: string
  quant: string
  seed?: number
  port: number
  host: string
  parallel: number
  ctx: number
  threads: number
  engine: EngineKind
  cacheDir?: string
}

function choice<T extends string>(allowed: readonly T[], check: (s: string) => s is T) {
  return (value: string): T => {
    if (!check(value)) throw new InvalidArgumentError(`expected one of ${allowed.join(', ')}`)
    return value
  }
}

/** The engine flags shared by serve-local and demo. */
export function addEngineOptions(cmd: Command, defaults: { size: string; port: number }): Command {
  return cmd
    .addOption(new Option('--size <size>', 'model size: tiny ~3M, small ~57M, medium ~155M, large ~309M params').default(defaults.size).argParser(choice(MODEL_SIZE_NAMES, isModelSize)))
    .addOption(new Option('--quant <type>', 'weight type').default(LOCAL_ENGINE_DEFAULTS.quant).argParser(choice(MODEL_QUANTS, isModelQuant)))
    .addOption(new Option('--seed <n>', 'model seed (same seed, same weights)').argParser(nonNegativeInt))
    .addOption(new Option('--port <n>', 'port to listen on (0: a free one)').default(defaults.port).argParser(nonNegativeInt))
    .option('--host <addr>', 'address to bind', LOCAL_ENGINE_DEFAULTS.host)
    .addOption(new Option('--parallel <n>', 'parallel sequences (slots); more requests wait in a queue').default(LOCAL_ENGINE_DEFAULTS.parallel).argParser(positiveInt))
    .addOption(new Option('--ctx <tokens>', 'context length per sequence').default(LOCAL_ENGINE_DEFAULTS.ctx).argParser(positiveInt))
    .addOption(new Option('--threads <n>', 'CPU threads (2+ is pathological on 2-vCPU VMs)').default(LOCAL_ENGINE_DEFAULTS.threads).argParser(positiveInt))
    .addOption(new Option('--engine <engine>', 'node: prebuilt llama.cpp in-process; llama-server: upstream server (tokenwatt engine build)').default(LOCAL_ENGINE_DEFAULTS.engine).choices(['node', 'llama-server']))
    .option('--cache-dir <dir>', 'where models and built engines are cached (default $XDG_CACHE_HOME/tokenwatt or ~/.cache/tokenwatt)')
}

function describeModel(m: ModelFile): string {
  return `${m.name} (${(m.parameters / 1e6).toFixed(1)}M params, ${m.quant.toUpperCase()}, seed ${m.seed})`
}

export function registerServeLocal(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('serve-local')
    .description('Serve a generated llama model over an OpenAI-compatible API on this machine (no GPU, no download) until Ctrl-C')
  addEngineOptions(cmd, { size: LOCAL_ENGINE_DEFAULTS.size, port: 8080 })
  cmd.action(async (flags: ServeLocalFlags) => {
    const { stdout, stderr } = ctx.host
    const size = flags.size
    const quant = flags.quant
    if (!isModelSize(size) || !isModelQuant(quant)) throw new ConfigError('invalid --size or --quant')
    const cacheDir = flags.cacheDir ?? defaultCacheDir(ctx.host.env)
    const log = (line: string): void => stderr.write(`${line}\n`)
    const verboseLog = ctx.verbose ? log : undefined
    const started = performance.now()
    let url: string
    let stop: () => Promise<void>
    let model: ModelFile
    let pid: number | null = process.pid
    if (flags.engine === 'node') {
      model = await ensureModelFile({ size, quant, cacheDir, onProgress: log, ...(flags.seed !== undefined ? { seed: flags.seed } : {}) })
      const engine = await serveNodeEngine({ modelPath: model.path, modelName: model.name, host: flags.host, port: flags.port, parallel: flags.parallel, ctx: flags.ctx, threads: flags.threads, ...(verboseLog ? { onLog: verboseLog } : {}) })
      url = engine.url
      stop = () => engine.close()
    } else {
      if ((await findLlamaServer(cacheDir)) === null) {
        throw new ConfigError(`llama-server has not been built in ${cacheDir}`, { hint: 'run `tokenwatt engine build` once (about 6 minutes on 2 cores), or use --engine node' })
      }
      const engine = await startLocalEngine({
        engine: 'llama-server', size, quant, host: flags.host, port: flags.port, parallel: flags.parallel, ctx: flags.ctx, threads: flags.threads, cacheDir,
        onLog: (line) => (line.startsWith('llama-server: ') ? verboseLog?.(line) : log(line)),
        signal: ctx.host.signal,
        ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
      })
      url = engine.rootUrl
      stop = () => engine.stop()
      model = engine.modelFile
      pid = engine.pid
    }
    const readyS = (performance.now() - started) / 1000
    const engineName = flags.engine === 'node' ? 'node-llama-cpp 3.21.1 (prebuilt llama.cpp, in this process)' : `upstream llama-server (pid ${pid})`
    stdout.write(
      [
        `serving ${describeModel(model)}`,
        `  engine      ${engineName}; ${flags.parallel} sequences × ${flags.ctx} tokens, ${flags.threads} thread${flags.threads === 1 ? '' : 's'}`,
        `  OpenAI API  ${url}/v1   (model "${model.name}")`,
        `  health      ${url}/health    metrics ${url}/metrics`,
        `  ready in ${readyS.toFixed(1)} s${model.generated ? ` (model generated in ${(model.generateMs / 1000).toFixed(1)} s)` : ''}; Ctrl-C to stop`,
        '',
      ].join('\n'),
    )
    if (!ctx.host.signal.aborted) await new Promise<void>((resolve) => ctx.host.signal.addEventListener('abort', () => resolve(), { once: true }))
    await stop()
    stderr.write('serve-local: stopped\n')
  })
}
