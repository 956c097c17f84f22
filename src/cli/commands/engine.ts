import { Command, Option } from 'commander'
import {
  MODEL_QUANTS,
  MODEL_SIZE_NAMES,
  buildLlamaServer,
  defaultCacheDir,
  ensureModelFile,
  findLlamaServer,
  isModelQuant,
  isModelSize,
} from '../../engines/local/index.js'
import { ConfigError } from '../../core/errors.js'
import type { CliContext } from '../cli-context.js'
import { nonNegativeInt, positiveInt } from '../parse-args.js'

/** `tokenwatt engine build|status|model`: prepare the embedded engines ahead of time (e.g. in CI). */
export function registerEngine(program: Command, ctx: CliContext): void {
  const engine = program.command('engine').description('Build upstream llama-server, show engine status, or pre-generate a model')
  const cacheOption = (): Option => new Option('--cache-dir <dir>', 'cache directory (default $XDG_CACHE_HOME/tokenwatt or ~/.cache/tokenwatt)')

  engine
    .command('build')
    .description('Build upstream llama.cpp llama-server from the source bundled in node-llama-cpp (offline; ~6 min on 2 cores; once per cache)')
    .addOption(cacheOption())
    .option('--force', 'rebuild even if a binary is cached')
    .option('--keep-sources', 'keep the source and build trees (~300 MB) for faster rebuilds')
    .addOption(new Option('--jobs <n>', 'parallel compile jobs (default: all CPUs)').argParser(positiveInt))
    .action(async (flags: { cacheDir?: string; force?: boolean; keepSources?: boolean; jobs?: number }) => {
      const cacheDir = flags.cacheDir ?? defaultCacheDir(ctx.host.env)
      const result = await buildLlamaServer({
        cacheDir,
        onProgress: (line) => ctx.host.stderr.write(`${line}\n`),
        signal: ctx.host.signal,
        ...(flags.force ? { force: true } : {}),
        ...(flags.keepSources ? { keepSources: true } : {}),
        ...(flags.jobs !== undefined ? { jobs: flags.jobs } : {}),
      })
      if (!result.built) ctx.host.stderr.write(`llama-server ${result.commit.slice(0, 12)} is already built (use --force to rebuild)\n`)
      ctx.host.stdout.write(`${result.binaryPath}\n`)
    })

  engine
    .command('status')
    .description('Show which engines are ready and where the cache is')
    .addOption(cacheOption())
    .action(async (flags: { cacheDir?: string }) => {
      const cacheDir = flags.cacheDir ?? defaultCacheDir(ctx.host.env)
      const server = await findLlamaServer(cacheDir)
      ctx.host.stdout.write(
        [
          `cache         ${cacheDir}`,
          `node          ready (node-llama-cpp 3.21.1, prebuilt llama.cpp)`,
          `llama-server  ${server ? `ready: ${server.binaryPath}` : 'not built (run `tokenwatt engine build`)'}`,
          '',
        ].join('\n'),
      )
    })

  engine
    .command('model')
    .description('Generate (or find) a synthetic model file in the cache and print its path')
    .addOption(new Option('--size <size>', 'model size').default('small').choices(MODEL_SIZE_NAMES))
    .addOption(new Option('--quant <type>', 'weight type').default('f16').choices(MODEL_QUANTS))
    .addOption(new Option('--seed <n>', 'model seed').argParser(nonNegativeInt))
    .addOption(cacheOption())
    .action(async (flags: { size: string; quant: string; seed?: number; cacheDir?: string }) => {
      if (!isModelSize(flags.size) || !isModelQuant(flags.quant)) throw new ConfigError('invalid --size or --quant')
      const model = await ensureModelFile({
        size: flags.size,
        quant: flags.quant,
        cacheDir: flags.cacheDir ?? defaultCacheDir(ctx.host.env),
        onProgress: (line) => ctx.host.stderr.write(`${line}\n`),
        ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
      })
      ctx.host.stdout.write(`${model.path}\n`)
    })
}
