import { resolve } from 'node:path'
import { Command, Option } from 'commander'
import { ConfigError } from '../../core/errors.js'
import { MockConfigSchema, startMockServer, type MockConfig } from '../../engines/mock/index.js'
import { readConfigFile } from '../config/load-config.js'
import { mergeLayers, setPath } from '../config/merge.js'
import type { CliContext } from '../cli-context.js'
import { collect, nonNegativeInt, number, positiveInt } from '../parse-args.js'

/** One flag: its config path, how to parse it and what it does. The table drives both the options and error messages. */
interface FlagSpec {
  readonly flag: string
  readonly path: readonly string[]
  readonly help: string
  readonly parse: (value: string) => number
}

const FAULT_FLAGS: readonly [string, string, string][] = [
  ['429', 'rateLimit', 'answer HTTP 429'],
  ['5xx', 'serverError', 'answer a 5xx status'],
  ['stall', 'stall', 'pause the stream mid-way'],
  ['disconnect', 'disconnect', 'drop the connection mid-stream'],
  ['malformed', 'malformed', 'send a data line that is not JSON'],
  ['error-event', 'errorEvent', 'send an {"error": …} event mid-stream, then [DONE]'],
  ['missing-usage', 'missingUsage', 'leave out the usage chunk'],
  ['slow-headers', 'slowHeaders', 'hold the response headers back'],
]

const FLAGS: readonly FlagSpec[] = [
  { flag: 'port', path: ['port'], help: 'port to listen on (0: a free one) [8000]', parse: nonNegativeInt },
  { flag: 'ttft-ms', path: ['ttftMs'], help: 'time to first token, ms [50]', parse: number },
  { flag: 'prefill-ms-per-token', path: ['prefillMsPerToken'], help: 'extra TTFT per prompt token, ms [0]', parse: number },
  { flag: 'itl-ms', path: ['itlMs'], help: 'time between tokens, ms [10]', parse: number },
  { flag: 'tokens-per-chunk', path: ['tokensPerChunk'], help: 'tokens per SSE chunk [1]', parse: positiveInt },
  { flag: 'output-tokens', path: ['outputTokens'], help: 'natural answer length; below max_tokens it ends with finish_reason "stop" [max_tokens]', parse: positiveInt },
  { flag: 'default-max-tokens', path: ['defaultMaxTokens'], help: 'output length when a request gives no max_tokens [256]', parse: positiveInt },
  { flag: 'chat-tokens-per-message', path: ['chatTokensPerMessage'], help: 'chat prompt overhead per message [4]', parse: nonNegativeInt },
  { flag: 'seed', path: ['seed'], help: 'seed of the fault probabilities [1]', parse: nonNegativeInt },
  ...FAULT_FLAGS.flatMap(([name, key, what]): FlagSpec[] => [
    { flag: `fault-${name}-every`, path: ['faults', key, 'every'], help: `${what} on every Nth request`, parse: positiveInt },
    { flag: `fault-${name}-prob`, path: ['faults', key, 'probability'], help: `${what} with this probability (0..1, seeded)`, parse: number },
  ]),
  { flag: 'fault-5xx-status', path: ['faults', 'serverError', 'status'], help: 'status of the 5xx fault [500]', parse: positiveInt },
  { flag: 'fault-stall-ms', path: ['faults', 'stall', 'ms'], help: 'length of a stall, ms [1000]', parse: number },
  { flag: 'fault-stall-after', path: ['faults', 'stall', 'afterChunks'], help: 'content chunks before a stall [3]', parse: nonNegativeInt },
  { flag: 'fault-disconnect-after', path: ['faults', 'disconnect', 'afterChunks'], help: 'content chunks before a disconnect [3]', parse: nonNegativeInt },
  { flag: 'fault-malformed-after', path: ['faults', 'malformed', 'afterChunks'], help: 'content chunks before the malformed line [3]', parse: nonNegativeInt },
  { flag: 'fault-error-event-after', path: ['faults', 'errorEvent', 'afterChunks'], help: 'content chunks before the error event [3]', parse: nonNegativeInt },
  { flag: 'fault-slow-headers-ms', path: ['faults', 'slowHeaders', 'ms'], help: 'how long headers are held back, ms [1000]', parse: number },
  { flag: 'idle-w', path: ['power', 'idleW'], help: 'power trace: idle watts [100]', parse: number },
  { flag: 'per-stream-w', path: ['power', 'perStreamW'], help: 'power trace: watts per request in flight [5]', parse: number },
  { flag: 'max-w', path: ['power', 'maxW'], help: 'power trace: cap in watts [700]', parse: number },
  { flag: 'ground-truth-limit', path: ['groundTruthLimit'], help: 'ground-truth records kept in memory [100000]', parse: nonNegativeInt },
]

/**
 * `tokenwatt mock-server`: the deterministic OpenAI-compatible mock, for checking a measurement chain
 * (or a load generator) against a server whose timing is known to the microsecond. Runs until Ctrl-C.
 */
export function registerMockServer(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('mock-server')
    .description('Serve a deterministic OpenAI-compatible mock (scripted TTFT/ITL, fault injection, ground-truth log, power trace) until Ctrl-C')
    .option('-c, --config <file>', 'YAML file with the mock settings (flags override it)')
    .option('--host <addr>', 'address to bind [127.0.0.1]')
    .option('--model <name>', 'model name to serve (repeat for several) [mock]', collect)
    .option('--ground-truth <file>', 'append every request’s ground truth (receive, headers and chunk write times) to this JSONL file')
  for (const f of FLAGS) cmd.addOption(new Option(`--${f.flag} <value>`, f.help).argParser(f.parse))
  cmd.action(async (flags: Record<string, unknown>, self: Command) => {
    const config = resolveMockConfig(flags, self, ctx.host.cwd)
    const mock = await startMockServer(config)
    const out = ctx.host.stdout
    out.write(`tokenwatt mock server listening on ${mock.baseUrl}\n`)
    out.write(`  models: ${config.models.join(', ')}; TTFT ${config.ttftMs} ms${config.prefillMsPerToken > 0 ? ` + ${config.prefillMsPerToken} ms/prompt token` : ''}, ITL ${config.itlMs} ms, ${config.tokensPerChunk} token(s)/chunk\n`)
    out.write(`  faults: ${describeFaults(config)}\n`)
    out.write(`  power trace: GET ${mock.url}/tokenwatt/power (idle ${config.power.idleW} W + ${config.power.perStreamW} W/stream, cap ${config.power.maxW} W)\n`)
    if (config.groundTruthFile !== undefined) out.write(`  ground truth: ${config.groundTruthFile}\n`)
    out.write('Ctrl-C to stop\n')
    await new Promise<void>((done) => {
      if (ctx.host.signal.aborted) done()
      else ctx.host.signal.addEventListener('abort', () => done(), { once: true })
    })
    await mock.close()
    out.write(`mock server stopped after ${mock.groundTruth().length} request(s)\n`)
  })
}

function resolveMockConfig(flags: Record<string, unknown>, cmd: Command, cwd: string): MockConfig {
  let data: Record<string, unknown> = {}
  const file = typeof flags.config === 'string' ? flags.config : null
  if (file !== null) data = readConfigFile(file, cwd).data as Record<string, unknown>
  const layer: Record<string, unknown> = {}
  if (typeof flags.host === 'string') layer.host = flags.host
  if (Array.isArray(flags.model)) layer.models = flags.model
  if (typeof flags.groundTruth === 'string') layer.groundTruthFile = resolve(cwd, flags.groundTruth)
  for (const f of FLAGS) {
    const value = cmd.getOptionValue(camel(f.flag)) as unknown
    if (value !== undefined) setPath(layer, f.path.join('.'), value)
  }
  const merged = mergeLayers(data, layer)
  if (typeof merged.groundTruthFile === 'string') merged.groundTruthFile = resolve(cwd, merged.groundTruthFile)
  const parsed = MockConfigSchema.safeParse(merged)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]
  const path = (issue?.path ?? []).map(String)
  const flag = FLAGS.find((f) => f.path.join('.') === path.join('.'))?.flag
  const where = flag !== undefined ? `--${flag}` : path.length > 0 ? path.join('.') : '(config)'
  const message = issue?.code === 'unrecognized_keys' ? `unknown key ${(issue as { keys: string[] }).keys.join(', ')}` : (issue?.message ?? 'invalid')
  throw new ConfigError(`mock-server: ${where}: ${message}${file !== null ? ` (flags and ${file})` : ''}`, { hint: 'see tokenwatt mock-server --help' })
}

function describeFaults(c: MockConfig): string {
  const parts: string[] = []
  for (const [name, key] of FAULT_FLAGS) {
    const rule = c.faults[key as keyof MockConfig['faults']]
    const when = [rule.every !== undefined ? `every ${ordinal(rule.every)} request` : null, rule.probability !== undefined ? `p=${rule.probability}` : null].filter((x) => x !== null)
    if (when.length > 0) parts.push(`${name} ${when.join(' or ')}`)
  }
  return parts.length === 0 ? 'none' : parts.join('; ')
}

function ordinal(n: number): string {
  const tens = n % 100
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th')
  return `${n}${suffix}`
}

function camel(flag: string): string {
  return flag.replace(/-([a-z0-9])/g, (_, ch: string) => ch.toUpperCase())
}
