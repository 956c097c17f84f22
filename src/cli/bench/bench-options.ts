import { Option, type Command } from 'commander'
import { TRACE_FORMATS } from '../../core/config/trace-schema.js'
import { parseDistributionFlag } from '../../core/config/distribution.js'
import { setPath } from '../config/merge.js'
import { collect, durationS, headerPair, keyValue, nonNegativeInt, number, positiveInt, positiveNumber, shardFlag, workersFlag } from '../parse-args.js'

/**
 * The flags of `bench` for the common case. Each maps onto one path of the config schema, so flags
 * and YAML share one validation; `-c bench.yaml` covers everything else.
 */
interface FlagSpec {
  readonly flags: string
  readonly path: string
  readonly description: string
  readonly parse?: (value: string, previous?: never) => unknown
  readonly choices?: readonly string[]
  readonly map?: (value: unknown) => unknown
}

const FLAGS: readonly FlagSpec[] = [
  { flags: '--endpoint <url>', path: 'target.endpoint', description: "server base URL, with or without /v1 (default: start the embedded llama.cpp engine)" },
  { flags: '--engine <kind>', path: 'local.engine', description: 'embedded engine when no --endpoint: node (node-llama-cpp) or llama-server (built by `tokenwatt engine build`)', choices: ['node', 'llama-server'] },
  { flags: '--size <size>', path: 'local.size', description: 'embedded engine model size when no --endpoint', choices: ['tiny', 'small', 'medium', 'large'] },
  { flags: '--model <name>', path: 'target.model', description: 'model to request (default: the first one the server lists)' },
  { flags: '--api <api>', path: 'target.api', description: 'OpenAI API to drive', choices: ['chat', 'completions'] },
  { flags: '--api-key-env <name>', path: 'target.apiKeyEnv', description: 'environment variable holding the API key (default OPENAI_API_KEY)' },
  { flags: '--header <name: value>', path: 'target.headers', description: 'extra HTTP header (repeatable)', parse: collect, map: (v) => Object.fromEntries((v as string[]).map(headerPair)) },
  { flags: '--ignore-eos', path: 'target.ignoreEos', description: 'send ignore_eos so every request generates its full output length' },
  { flags: '--min-tokens', path: 'target.minTokens', description: 'send min_tokens = max_tokens (vLLM)' },
  { flags: '--continuous-usage', path: 'target.continuousUsage', description: 'ask for per-chunk usage (vLLM continuous_usage_stats)' },
  { flags: '--chunk-stamps <how>', path: 'target.chunkStamps', description: 'how chunks are timestamped: auto (kernel receive time where possible), kernel (or fail), read (when the client reads them)', choices: ['auto', 'kernel', 'read'] },
  { flags: '--concurrency <n>', path: 'load.concurrency', description: 'closed loop: number of concurrent users', parse: positiveInt },
  { flags: '--rate <rps>', path: 'load.rate', description: 'open loop: requests per second', parse: positiveNumber },
  { flags: '--arrival <process>', path: 'load.type', description: 'open-loop arrival process (with --rate; default poisson)', choices: ['constant', 'poisson', 'gamma'] },
  { flags: '--burstiness <k>', path: 'load.burstiness', description: 'gamma arrivals: shape k (1 = Poisson, <1 burstier)', parse: positiveNumber },
  { flags: '--max-concurrency <n>', path: 'load.maxConcurrency', description: 'open loop: cap on requests in flight; arrivals beyond are dropped and counted', parse: positiveInt },
  { flags: '--requests <n>', path: 'stop.requests', description: 'stop after this many measured requests', parse: positiveInt },
  { flags: '--duration <time>', path: 'stop.durationS', description: 'stop sending after this long (60, 90s, 5m)', parse: durationS },
  { flags: '--warmup <n>', path: 'warmupRequests', description: 'requests sent before the measurement, excluded from results', parse: nonNegativeInt },
  { flags: '--input-tokens <dist>', path: 'workload.input', description: 'prompt length: 512 | uniform:100-900 | normal:512,64 | lognormal:512,200', parse: parseDistributionFlag },
  { flags: '--output-tokens <dist>', path: 'workload.output', description: 'output length (max_tokens), same forms as --input-tokens', parse: parseDistributionFlag },
  { flags: '--shared-prefix <tokens>', path: 'workload.sharedPrefixTokens', description: 'tokens of a prefix shared by every prompt (prefix caching)', parse: nonNegativeInt },
  { flags: '--dataset <file>', path: 'workload.dataset.path', description: 'prompts from a JSONL or ShareGPT file' },
  { flags: '--dataset-format <fmt>', path: 'workload.dataset.format', description: 'format of --dataset', choices: ['jsonl', 'sharegpt'] },
  // --sessions comes before the other session flags, so their paths land inside the object it sets
  { flags: '--sessions', path: 'workload.sessions', description: 'agentic sessions: the load counts sessions, each a multi-turn task (see --turns)', map: () => ({}) },
  { flags: '--turns <dist>', path: 'workload.sessions.turns', description: 'sessions: turns per session, same forms as --input-tokens (implies --sessions)', parse: parseDistributionFlag },
  { flags: '--turn-input-tokens <dist>', path: 'workload.sessions.input', description: 'sessions: new user tokens per turn (default --input-tokens)', parse: parseDistributionFlag },
  { flags: '--think-time-ms <ms>', path: 'workload.sessions.thinkTimeMs', description: 'sessions: think/tool time between turns (ms, fixed)', parse: number },
  { flags: '--system-prompt-tokens <n>', path: 'workload.sessions.systemPromptTokens', description: 'sessions: tokens of a system prompt shared by every session', parse: nonNegativeInt },
  { flags: '--fan-out <every:k>', path: 'workload.sessions.fanOut', description: 'sessions: every Nth turn spawns k parallel sub-agent requests (e.g. 2:3)', parse: fanOutFlag },
  { flags: '--session-count <n>', path: 'workload.sessions.count', description: 'sessions: how many sessions to run in all', parse: positiveInt },
  { flags: '--task-slo-ms <ms>', path: 'workload.sessions.taskLatencyMs', description: 'sessions: task SLO bound on the whole task (first send to last token)', parse: positiveNumber },
  { flags: '--trace <file>', path: 'workload.trace.path', description: 'replay a trace file at its own timestamps (with --trace-format)' },
  { flags: '--trace-format <fmt>', path: 'workload.trace.format', description: 'format of --trace', choices: TRACE_FORMATS },
  { flags: '--time-scale <x>', path: 'workload.trace.timeScale', description: 'trace replay speed-up (10 = ten times faster)', parse: positiveNumber },
  { flags: '--max-idle-gap-s <s>', path: 'workload.trace.maxIdleGapS', description: 'trace replay: cap on any gap between arrivals (trace seconds)', parse: positiveNumber },
  { flags: '--trace-start-s <s>', path: 'workload.trace.startOffsetS', description: 'trace replay: skip the first seconds of the trace', parse: number },
  { flags: '--trace-duration-s <s>', path: 'workload.trace.durationS', description: 'trace replay: replay only this many trace seconds', parse: positiveNumber },
  { flags: '--trace-block-tokens <n>', path: 'workload.trace.blockTokens', description: 'trace replay: tokens per hash_ids block (default: Mooncake 512, Weka and github-agent 64)', parse: positiveInt },
  { flags: '--seed <n>', path: 'workload.seed', description: 'workload seed (same seed, same requests)', parse: nonNegativeInt },
  { flags: '--tokenizer <how>', path: 'workload.tokenizer', description: 'how prompt lengths are hit', choices: ['auto', 'server', 'probe', 'estimate'] },
  { flags: '--slo-ttft-ms <ms>', path: 'slo.ttftMs', description: 'SLO bound on TTFT per request', parse: positiveNumber },
  { flags: '--slo-tpot-ms <ms>', path: 'slo.tpotMs', description: 'SLO bound on TPOT per request', parse: positiveNumber },
  { flags: '--slo-e2e-ms <ms>', path: 'slo.e2eMs', description: 'SLO bound on end-to-end latency per request', parse: positiveNumber },
  { flags: '--slo-percentile <p>', path: 'slo.percentile', description: 'percentile the run-level SLO verdict checks (default 99)', parse: number },
  { flags: '--settle-power', path: 'settlePower', description: 'start the steady window only once power has settled too (MSER-5 on the meters\' power series); sweeps of hardware knobs do this on every point', map: () => true },
  { flags: '--max-error-rate <share>', path: 'maxErrorRate', description: 'largest share (0..1) of measured requests that may fail; above it the run is marked invalid and exits 6 (default 0.05)', parse: number },
  { flags: '--slo-min-attainment <share>', path: 'slo.minAttainment', description: 'fail (exit 99) when fewer requests than this share (0..1) meet the SLO', parse: number },
  { flags: '--workers <n|auto>', path: 'workers', description: 'threads sending the load, each with its own connections (auto: add one while the busiest is the limit)', parse: workersFlag },
  { flags: '--timeout-ms <ms>', path: 'timeouts.totalMs', description: 'longest a request may take in all', parse: positiveNumber },
  { flags: '--idle-timeout-ms <ms>', path: 'timeouts.idleMs', description: 'longest silence between two chunks', parse: positiveNumber },
  { flags: '--out <dir>', path: 'out', description: 'directory for summary.json (a run-id folder is made inside)' },
  { flags: '--store <file>', path: 'store', description: 'SQLite results store (default: ~/.local/share/tokenwatt/tokenwatt.db)' },
  { flags: '--expect-nodes <n>', path: 'coverage.expectNodes', description: 'nodes that must all be in the power telemetry (meter node: labels), else the efficiency figures are invalid', parse: positiveInt },
  { flags: '--expect-devices <n>', path: 'coverage.expectDevices', description: 'devices (GPUs) that must all be in the power telemetry, else the efficiency figures are invalid', parse: positiveInt },
  { flags: '--shard <i/n>', path: 'shard', description: 'send only the i-th (0-based) of n striped parts of the schedule; `tokenwatt merge` joins the shards (see README, Many hosts)', parse: shardFlag },
  { flags: '--start-at <time>', path: 'startAt', description: 'ISO 8601 wall-clock time the measured load starts at, so shards on several hosts start together' },
  { flags: '--label <key=value>', path: 'labels', description: 'label stored with the run (repeatable)', parse: collect, map: (v) => Object.fromEntries((v as string[]).map(keyValue)) },
]

export function addBenchOptions(cmd: Command): Command {
  for (const f of FLAGS) {
    const opt = new Option(f.flags, f.description)
    if (f.choices) opt.choices(f.choices)
    if (f.parse) opt.argParser(f.parse as (v: string, p: unknown) => unknown)
    cmd.addOption(opt)
  }
  return cmd
}

/** Turns the parsed flags into a config layer (only the flags that were given). */
export function benchFlagsToConfig(opts: Record<string, unknown>, cmd: Command): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const f of FLAGS) {
    const name = cmd.options.find((o) => o.flags === f.flags)?.attributeName()
    if (!name) continue
    const v = opts[name]
    if (v === undefined) continue
    setPath(out, f.path, f.map ? f.map(v) : v)
  }
  // --rate alone means an open loop (Poisson unless --arrival says otherwise); --concurrency a closed one.
  const load = out.load as Record<string, unknown> | undefined
  if (load) {
    if (load.rate !== undefined && load.type === undefined) load.type = 'poisson'
    if (load.concurrency !== undefined && load.type === undefined) load.type = 'closed-loop'
  }
  return out
}

/** `--fan-out 2:3`: every 2nd turn fans out to 3 children. */
function fanOutFlag(v: string): unknown {
  const m = /^(\d+):(\d+)$/.exec(v.trim())
  return m ? { every: Number(m[1]), children: Number(m[2]) } : v
}

/** The flag table, for docs. */
export const BENCH_FLAGS = FLAGS
