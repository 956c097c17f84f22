import { InvalidArgumentError, Option, type Command } from 'commander'
import { PRESET_IDS } from '../../core/config/cost-schema.js'
import { SERVER_PRESET_IDS } from '../../core/monitor/server-presets.js'
import { costOptionsToConfig } from '../cost-options.js'
import { collect, durationS, keyValue } from '../parse-args.js'

const MAP_KEYS: Readonly<Record<string, string>> = { output: 'outputTokens', input: 'inputTokens', running: 'running', ttft: 'ttft', itl: 'itl', e2e: 'e2e' }

/**
 * The flags of `tokenwatt monitor`. The power flags are bench's (addMeterOptions); the cost flags are
 * bench's too except that `--preset` names the serving stack here (the issue's `--preset vllm`), so the
 * accelerator preset of the cost model is `--hw-preset`.
 */
export function addMonitorOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'YAML config file (flags override it)')
    .addOption(new Option('--server-metrics <url[,url…]>', "replicas' /metrics URLs, scraped directly (repeatable or comma-separated)").argParser(collect))
    .option('--prometheus <url>', 'read the servers\' series from this Prometheus instead (base URL)')
    .option('--selector <matchers>', 'PromQL label matchers for --prometheus, e.g. \'{job="vllm"}\'')
    .addOption(new Option('--preset <server>', 'serving stack whose metric names to read').choices(SERVER_PRESET_IDS as unknown as string[]))
    .addOption(new Option('--map <key=metric>', 'name a series by hand (repeatable): output|input=COUNTER or HISTOGRAM_sum, running=GAUGE, ttft|itl|e2e=HISTOGRAM').argParser(collect))
    .addOption(new Option('--interval <d>', 'time between scrape rounds (default 5s)').argParser(durationS))
    .addOption(new Option('--duration <d>', 'stop after this long (default: until Ctrl-C)').argParser(durationS))
    .option('--model <name>', 'model label of the session (default: the series\' model label)')
    .option('--capacity-from <run>', 'a stored bench run whose output tokens/s is 100% utilisation')
    .addOption(new Option('--alert <rule>', "threshold rule (repeatable), e.g. 'tokens_per_joule < 2 for 10m'").argParser(collect))
    .option('--exporter <[host:]port>', 'serve tokenwatt\'s figures on /metrics for Prometheus (default host 127.0.0.1)')
    .option('--out <dir>', 'directory for summary.json (a run-id folder is made inside)')
    .option('--store <file>', 'SQLite results store (default: ~/.local/share/tokenwatt/tokenwatt.db)')
    .addOption(new Option('--label <key=value>', 'label stored with the session (repeatable)').argParser(collect))
    .addOption(new Option('--accelerators <n>', 'accelerators serving the replicas (cost model)').argParser(num))
    .addOption(new Option('--hw-preset <name>', 'accelerator preset of the cost model: power and typical prices, each with its source').choices(PRESET_IDS))
    .addOption(new Option('--usd-per-accelerator-hour <usd>', 'rental price per accelerator-hour (energy included)').argParser(num))
    .addOption(new Option('--usd-per-kwh <usd>', 'electricity price at the facility meter').argParser(num))
    .option('--json', 'print summary.json to stdout at the end instead of the table')
    .option('--no-progress', 'no line per scrape round')
}

function num(text: string): number {
  const v = Number(text)
  if (text.trim() === '' || !Number.isFinite(v)) throw new InvalidArgumentError(`expected a number, got "${text}"`)
  return v
}

/** The monitor-specific flags as a plain config fragment (only the keys given). */
export function monitorFlagsToConfig(opts: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const urls = Array.isArray(opts.serverMetrics) ? (opts.serverMetrics as string[]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean) : []
  if (urls.length > 0) out.source = { type: 'server-metrics', urls }
  if (typeof opts.prometheus === 'string') out.source = { type: 'prometheus', url: opts.prometheus, ...(typeof opts.selector === 'string' ? { selector: opts.selector } : {}) }
  if (typeof opts.preset === 'string') out.preset = opts.preset
  if (Array.isArray(opts.map)) {
    const mapping: Record<string, string> = {}
    for (const pair of opts.map as string[]) {
      const [k, v] = keyValue(pair)
      const key = MAP_KEYS[k]
      if (key === undefined) throw new InvalidArgumentError(`--map ${pair}: unknown key ${k} (one of ${Object.keys(MAP_KEYS).join(', ')})`)
      mapping[key] = v
    }
    out.mapping = mapping
  }
  if (typeof opts.interval === 'number') out.intervalS = opts.interval
  if (typeof opts.duration === 'number') out.durationS = opts.duration
  if (typeof opts.model === 'string') out.model = opts.model
  if (typeof opts.capacityFrom === 'string') out.capacityFrom = opts.capacityFrom
  if (Array.isArray(opts.alert)) out.alerts = opts.alert
  if (typeof opts.exporter === 'string') out.exporter = opts.exporter
  if (typeof opts.out === 'string') out.out = opts.out
  if (typeof opts.store === 'string') out.store = opts.store
  if (Array.isArray(opts.label)) out.labels = Object.fromEntries((opts.label as string[]).map(keyValue))
  const cost = costOptionsToConfig({ ...(opts as Record<string, never>), preset: opts.hwPreset as never })
  if (cost !== undefined) out.cost = cost
  return out
}
