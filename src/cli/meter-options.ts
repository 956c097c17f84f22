import { InvalidArgumentError, Option, type Command } from 'commander'
import { parseMeterFlag, parsePueFlag } from '../core/config/meters-schema.js'
import { collect, number, positiveNumber } from './parse-args.js'

/**
 * The power flags shared by `bench` (and anything else that reads meters): which meters, the boundary
 * the headline figures are at, the idle baseline, and the two attribution knobs people change most.
 * Everything else lives in the config's `meters:` and `attribution:` sections.
 */
export function addMeterOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--meter <kind[:arg]>', 'power meter to read (repeatable): nvml[:0,1] | nvidia-smi | amd-smi | rapl[:package-0,dram] | ipmi[:user@bmc] | redfish:https://bmc | snmp:vendor@pdu | prometheus:[preset@]url | file:power.csv | estimate:IDLE-MAX[@pid|@self] | mock[:url]').argParser(
        collect,
      ),
    )
    .addOption(new Option('--boundary <boundary>', 'boundary the headline energy figures are at (device ⊂ node ⊂ rack ⊂ cluster ⊂ facility)').choices(['device', 'node', 'rack', 'cluster', 'facility']))
    .addOption(new Option('--idle-s <seconds>', 'measure idle power for this long before the load (0 = none)').argParser(nonNegativeSeconds))
    .addOption(new Option('--pue <x[:low-high]>', 'facility PUE, optionally with its range, e.g. 1.2 or 1.3:1.1-1.58 (default 1.3 [1.1–1.58])').argParser(pue))
    .addOption(new Option('--device-watts <W>', 'provisioned power per accelerator for tokens/s per provisioned MW (default: the enforced power caps the meters read)').argParser(positiveNumber))
}

function nonNegativeSeconds(value: string): number {
  const n = number(value)
  if (n < 0) throw new InvalidArgumentError('expected seconds >= 0')
  return n
}

function pue(value: string): unknown {
  const v = parsePueFlag(value)
  if (typeof v === 'string') throw new InvalidArgumentError('expected a PUE such as 1.2, or 1.3:1.1-1.58 (value:low-high)')
  return v
}

export interface MeterOptionsConfig {
  meters?: unknown[]
  boundary?: string
  idleS?: number
  /** A partial `attribution:` section: merge it into the file's section key by key, not over it. */
  attribution?: { facility?: { pue: unknown }; provisioned?: { perDeviceW: number } }
}

/**
 * The config fragment the power flags set (only the keys that were given), as plain data for the
 * one schema to validate.
 *
 * @example meterOptionsToConfig({ meter: ['nvml', 'file:wall.csv'], boundary: 'node', pue: 1.2 })
 * // → { meters: [{ kind: 'nvml' }, { kind: 'file', path: 'wall.csv' }], boundary: 'node', attribution: { facility: { pue: 1.2 } } }
 */
export function meterOptionsToConfig(opts: Record<string, unknown>): MeterOptionsConfig {
  const out: MeterOptionsConfig = {}
  if (Array.isArray(opts.meter)) out.meters = (opts.meter as string[]).map(parseMeterFlag)
  if (typeof opts.boundary === 'string') out.boundary = opts.boundary
  if (typeof opts.idleS === 'number') out.idleS = opts.idleS
  if (opts.pue !== undefined || typeof opts.deviceWatts === 'number') {
    out.attribution = {
      ...(opts.pue !== undefined ? { facility: { pue: opts.pue } } : {}),
      ...(typeof opts.deviceWatts === 'number' ? { provisioned: { perDeviceW: opts.deviceWatts } } : {}),
    }
  }
  return out
}
