import Table from 'cli-table3'
import { Option, type Command } from 'commander'
import { NodeClock } from '../../adapters/clock/node-clock.js'
import { createMeter } from '../../adapters/meters/index.js'
import { MeterSpecSchema, parseMeterFlag, type MeterSpec } from '../../core/config/meters-schema.js'
import { ConfigError, ExitCode, isTokenwattError } from '../../core/errors.js'
import type { MeterKind } from '../../core/ports.js'
import type { CliContext } from '../cli-context.js'
import { collect } from '../parse-args.js'

/** What one probe found. */
export interface ProbeResult {
  readonly meter: string
  readonly kind: MeterKind
  readonly available: boolean
  readonly boundary: string | null
  readonly channels: readonly string[]
  /** The preflight message when available; the one-line cause when not. */
  readonly detail: string
  readonly hint: string | null
}

/** The local kinds probed when no --meter is given, with their default options. */
const LOCAL_DEFAULTS: readonly string[] = ['nvml', 'nvidia-smi', 'amd-smi', 'rapl', 'ipmi']

/** Kinds that need a target or a declaration before they can be probed. */
const NEEDS_ARGUMENT: readonly { kind: MeterKind; why: string; hint: string }[] = [
  { kind: 'redfish', why: 'needs a BMC or PDU address', hint: '--meter redfish:https://BMC (password in TOKENWATT_REDFISH_PASSWORD)' },
  { kind: 'snmp', why: 'needs a PDU address and vendor', hint: '--meter snmp:apc@PDU-HOST (community in TOKENWATT_SNMP_COMMUNITY)' },
  { kind: 'prometheus', why: 'needs a Prometheus server', hint: '--meter prometheus:dcgm@http://PROMETHEUS:9090' },
  { kind: 'file', why: 'needs a power log file', hint: '--meter file:power.csv (time column + watts or cumulative energy)' },
  { kind: 'estimate', why: 'needs a declared idle/max power profile (always reported as an estimate)', hint: '--meter estimate:IDLE-MAX, e.g. estimate:60-250' },
  { kind: 'mock', why: 'reads the mock engine', hint: '--meter mock:http://HOST:PORT' },
]

/** Time one probe may take (a BMC that does not answer, a hung driver). */
const PROBE_TIMEOUT_MS = 20_000

/**
 * Preflights each meter (one real read) and releases it again. Never throws: an unavailable meter
 * is a row with its cause and hint.
 */
export async function probeMeters(specs: readonly MeterSpec[], env: Readonly<Record<string, string | undefined>>): Promise<ProbeResult[]> {
  const clock = new NodeClock()
  return Promise.all(
    specs.map(async (spec, i) => {
      const id = spec.id ?? (specs.filter((s) => s.kind === spec.kind).length > 1 ? `${spec.kind}-${i + 1}` : spec.kind)
      const meter = createMeter(spec, { env, clock }, id)
      let timer: NodeJS.Timeout | undefined
      try {
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS / 1000} s`)), PROBE_TIMEOUT_MS)
          timer.unref()
        })
        const pre = await Promise.race([meter.preflight(), timeout])
        return { meter: id, kind: spec.kind, available: true, boundary: meter.info.boundary + (meter.info.component !== undefined ? ` (${meter.info.component})` : ''), channels: pre.channels, detail: pre.message, hint: null }
      } catch (e) {
        return {
          meter: id,
          kind: spec.kind,
          available: false,
          boundary: null,
          channels: [],
          detail: (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '',
          hint: isTokenwattError(e) ? (e.hint ?? null) : null,
        }
      } finally {
        clearTimeout(timer)
        await meter.stop().catch(() => undefined)
      }
    }),
  )
}

export function registerMeters(program: Command, ctx: CliContext): void {
  const meters = program.command('meters').description('Power meters: what this machine can read')
  meters
    .command('probe')
    .description('Try each power meter once and say what can be read here, and why the rest cannot')
    .addOption(new Option('--meter <kind[:arg]>', 'probe this meter (repeatable; default: every local kind)').argParser(collect))
    .option('--json', 'print JSON')
    .action(async (opts: { meter?: string[]; json?: boolean }) => {
      const explicit = opts.meter !== undefined && opts.meter.length > 0
      const raw = explicit ? (opts.meter as string[]) : LOCAL_DEFAULTS
      const specs = raw.map((flag) => {
        const r = MeterSpecSchema.safeParse(parseMeterFlag(flag))
        if (!r.success) {
          const issue = r.error.issues[0]
          throw new ConfigError(`--meter ${flag}: ${issue?.path.length ? `${issue.path.join('.')}: ` : ''}${issue?.message ?? 'invalid'}`, { hint: 'see `tokenwatt meters probe --help` for the forms' })
        }
        return r.data
      })
      const results = await probeMeters(specs, ctx.host.env)
      const others = explicit ? [] : NEEDS_ARGUMENT
      if (opts.json) {
        ctx.host.stdout.write(`${JSON.stringify({ meters: results, notProbed: others }, null, 2)}\n`)
      } else {
        const width = Math.max(60, (ctx.host.stdout.columns ?? 120) - 4)
        const t = new Table({ head: ['meter', 'status', 'boundary', 'what it reads / why not'], style: { head: [], border: [] }, colWidths: [12, 13, 20, Math.max(30, width - 50)], wordWrap: true })
        for (const r of results) t.push([r.meter, r.available ? 'available' : 'unavailable', r.boundary ?? '', r.available ? r.detail : `${r.detail}${r.hint ? `\nhint: ${r.hint}` : ''}`])
        for (const o of others) t.push([o.kind, 'not probed', '', `${o.why}\nuse: ${o.hint}`])
        ctx.host.stdout.write(`${t.toString()}\n`)
        const n = results.filter((r) => r.available).length
        ctx.host.stdout.write(n > 0 ? `${n} meter${n === 1 ? '' : 's'} readable here: use --meter ${results.filter((r) => r.available).map((r) => r.kind).join(' --meter ')}\n` : 'no local power meter is readable here; a power log (--meter file:…) or a labelled estimate (--meter estimate:IDLE-MAX) still works\n')
      }
      if (explicit && results.some((r) => !r.available)) ctx.exitCode = ExitCode.MeterUnavailable
    })
}
