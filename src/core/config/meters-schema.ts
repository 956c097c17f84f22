import { z } from 'zod'
import { BoundarySchema, meterCommon } from './meter-common-schema.js'
import { parseRemoteMeterArg, PrometheusMeterSchema, RedfishMeterSchema, SnmpMeterSchema } from './meters-remote-schema.js'

/**
 * Meter selection (`meters:` in the config, `--meter KIND[:ARG]` on the command line), the boundary
 * the headline figures are reported at, and the attribution assumptions that carry energy from one
 * boundary to the next (DESIGN.md §4). Owned by the power work (issue 4, part A).
 *
 * The local meters' option shapes live here. The remote ones (redfish, snmp, prometheus) live in
 * `meters-remote-schema.ts`, owned by issue 4 part B, so the two halves never edit the same lines.
 * Every meter shares the `common` keys below; each adapter reads only its own kind's keys.
 */
export { BoundarySchema, meterCommon }

/** GPU selector: indices (`0`), UUIDs (`GPU-…`) or PCI bus ids. Absent: every GPU. */
const DevicesSchema = z.array(z.union([z.string().min(1), z.number().int().nonnegative().transform(String)])).optional()

export const NvmlMeterSchema = z.strictObject({
  kind: z.literal('nvml'),
  ...meterCommon,
  boundary: BoundarySchema.default('device'),
  devices: DevicesSchema,
  library: z.string().min(1).optional().describe('Path of libnvidia-ml (default: env TOKENWATT_NVML_LIBRARY, else `libnvidia-ml.so.1`).'),
  scope: z.enum(['gpu', 'module']).default('gpu').describe('Power scope of the field values: `gpu` (board) or `module` (GPU + Grace CPU on superchips).'),
})

export const NvidiaSmiMeterSchema = z.strictObject({
  kind: z.literal('nvidia-smi'),
  ...meterCommon,
  boundary: BoundarySchema.default('device'),
  devices: DevicesSchema,
  binary: z.string().min(1).default('nvidia-smi').describe('The nvidia-smi executable (default: `nvidia-smi` on PATH).'),
  field: z.enum(['power.draw', 'power.draw.instant', 'power.draw.average']).default('power.draw.instant').describe('Which power column to integrate. `power.draw` is a 1-s average on Ampere+ (shifted by half a second), `power.draw.instant` an instant reading (driver 530+).'),
})

export const AmdSmiMeterSchema = z.strictObject({
  kind: z.literal('amd-smi'),
  ...meterCommon,
  boundary: BoundarySchema.default('device'),
  devices: DevicesSchema,
  binary: z.string().min(1).default('amd-smi'),
  mode: z.enum(['watch', 'poll']).default('watch').describe('`watch`: one long-lived `amd-smi metric -w` process; `poll`: one process per sample (costly).'),
})

export const RaplMeterSchema = z.strictObject({
  kind: z.literal('rapl'),
  ...meterCommon,
  boundary: BoundarySchema.default('node'),
  zones: z.array(z.string().min(1)).optional().describe('Zone names (`package-0`, `dram`, `psys`, `core`); absent: every package and dram zone.'),
  root: z.string().min(1).default('/sys/class/powercap').describe('The powercap root (tests point it at a temp tree).'),
})

export const IpmiMeterSchema = z.strictObject({
  kind: z.literal('ipmi'),
  ...meterCommon,
  boundary: BoundarySchema.default('node'),
  tool: z.enum(['auto', 'ipmitool', 'freeipmi']).default('auto').describe('`ipmitool` (`dcmi power reading`), `freeipmi` (`ipmi-dcmi`), or whichever is on PATH.'),
  binary: z.string().min(1).optional().describe('Executable path override (default: the tool\'s name on PATH).'),
  host: z.string().min(1).optional().describe('BMC host for out-of-band reads (absent: in-band via /dev/ipmi0, root).'),
  user: z.string().min(1).optional(),
  passwordEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').default('IPMI_PASSWORD').describe('Name of the environment variable holding the BMC password (never the password itself).'),
  interface: z.enum(['lanplus', 'lan']).default('lanplus').describe('ipmitool interface for out-of-band reads.'),
})

export const FileMeterSchema = z.strictObject({
  kind: z.literal('file'),
  ...meterCommon,
  boundary: BoundarySchema.default('node'),
  path: z.string().min(1).describe('CSV (header row) or JSONL file written by any meter (a wall power analyser, a logger).'),
  format: z.enum(['auto', 'csv', 'jsonl']).default('auto'),
  timeColumn: z.string().min(1).optional().describe('Column names; absent: detected by name (time/timestamp, watts/power_w, energy_j/joules/wh/kwh).'),
  powerColumn: z.string().min(1).optional(),
  energyColumn: z.string().min(1).optional(),
  channelColumn: z.string().min(1).optional().describe('Column naming the channel (one series per value), e.g. an outlet or GPU id.'),
  timeUnit: z.enum(['auto', 'iso', 's', 'ms', 'us', 'ns']).default('auto').describe('Unit of the time column: `auto` detects epoch s/ms/µs/ns by magnitude and ISO 8601 strings.'),
  energyUnit: z.enum(['J', 'Wh', 'kWh']).optional().describe('Unit of the energy column when its name does not say (`J`, `Wh`, `kWh`).'),
  clockOffsetMs: z.number().default(0).describe('The logger\'s clock minus this machine\'s (ms), when known: subtracted from the file\'s times.'),
  averagingWindowMs: z.number().nonnegative().default(0).describe('Averaging window of each power reading (ms), when the logger averages (0 = instant).'),
})

export const EstimateMeterSchema = z.strictObject({
  kind: z.literal('estimate'),
  ...meterCommon,
  boundary: BoundarySchema.default('node'),
  pid: z.union([z.literal('self'), z.number().int().positive()]).optional().describe('Whose CPU time drives the model: a process id, `self` (this process, e.g. the embedded engine), or absent for the whole machine.'),
  idleW: z.number().nonnegative().describe('Declared power of the machine idle and fully busy (W): the model interpolates by CPU use.'),
  maxW: z.number().positive(),
  cores: z.number().int().positive().optional().describe('Cores that `maxW` corresponds to (default: this machine\'s logical cores).'),
}).refine((s) => s.maxW >= s.idleW, { message: 'maxW must be at least idleW', path: ['maxW'] })

export const MockMeterSchema = z.strictObject({
  kind: z.literal('mock'),
  ...meterCommon,
  boundary: BoundarySchema.default('device'),
  url: z.url({ protocol: /^https?$/ }).optional().describe('Base URL of the mock engine (default: the run\'s mock engine). Polls `{url}/tokenwatt/power`.'),
})

export const MeterSpecSchema = z.discriminatedUnion('kind', [
  NvmlMeterSchema,
  NvidiaSmiMeterSchema,
  AmdSmiMeterSchema,
  RaplMeterSchema,
  IpmiMeterSchema,
  RedfishMeterSchema,
  SnmpMeterSchema,
  PrometheusMeterSchema,
  FileMeterSchema,
  EstimateMeterSchema,
  MockMeterSchema,
])
export type MeterSpec = z.output<typeof MeterSpecSchema>
export type MeterSpecInput = z.input<typeof MeterSpecSchema>
export type MeterSpecOf<K extends MeterSpec['kind']> = Extract<MeterSpec, { kind: K }>

export const METER_KINDS = ['nvml', 'nvidia-smi', 'amd-smi', 'rapl', 'ipmi', 'redfish', 'snmp', 'prometheus', 'file', 'estimate', 'mock'] as const

/**
 * Parses the flag form `--meter KIND[:ARG]` into the plain object the schema validates:
 * `nvml`, `nvml:0,1`, `nvidia-smi:GPU-…`, `amd-smi:0`, `rapl:package-0,dram`, `ipmi`,
 * `ipmi:admin@10.0.0.5`, `redfish:https://bmc`, `snmp:apc@10.0.0.9`, `prometheus:kepler@http://prom:9090`,
 * `file:power.csv`, `estimate:60-250` (idle-max watts; `@self` or `@PID` for one process), `mock`,
 * `mock:http://127.0.0.1:8000`.
 * Unknown kinds pass through so the schema reports them with the list of valid ones.
 *
 * @example parseMeterFlag('file:power.csv') // → { kind: 'file', path: 'power.csv' }
 */
export function parseMeterFlag(text: string): unknown {
  const t = text.trim()
  const colon = t.indexOf(':')
  const kind = colon < 0 ? t : t.slice(0, colon)
  const arg = colon < 0 ? '' : t.slice(colon + 1).trim()
  const list = (): string[] => arg.split(',').map((s) => s.trim()).filter((s) => s.length > 0)
  if (arg === '') return { kind }
  switch (kind) {
    case 'nvml':
    case 'nvidia-smi':
    case 'amd-smi':
      return { kind, devices: list() }
    case 'rapl':
      return { kind, zones: list() }
    case 'ipmi': {
      const at = arg.lastIndexOf('@')
      return at < 0 ? { kind, host: arg } : { kind, user: arg.slice(0, at), host: arg.slice(at + 1) }
    }
    case 'redfish':
    case 'snmp':
    case 'prometheus':
      return parseRemoteMeterArg(kind, arg)
    case 'mock':
      return { kind, url: arg }
    case 'file':
      return { kind, path: arg }
    case 'estimate': {
      // estimate:IDLE-MAX or estimate:IDLE-MAX@PID (PID a number or `self`)
      const m = /^(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)(?:@(self|\d+))?$/.exec(arg)
      if (!m) return { kind, profile: arg }
      const pid = m[3] === undefined ? {} : { pid: m[3] === 'self' ? 'self' : Number(m[3]) }
      return { kind, idleW: Number(m[1]), maxW: Number(m[2]), ...pid }
    }
    default:
      return { kind, arg }
  }
}

// ---------------------------------------------------------------------------------------------
// Attribution: from the level below to the next boundary up, each step an editable assumption.
// ---------------------------------------------------------------------------------------------

/**
 * An assumed value with the range it may plausibly take. A bare number means "known exactly"
 * (the interval collapses to it); an object gives the range explicitly.
 */
function ranged(def: Ranged, bounds: { min: number; max: number }) {
  const n = z.number().min(bounds.min).max(bounds.max)
  return z
    .union([
      n.transform((value) => ({ value, low: value, high: value })),
      z
        .strictObject({ value: n.describe('The assumed value.'), low: n.optional().describe('Low end of its range (default: value).'), high: n.optional().describe('High end of its range (default: value).') })
        .transform((r) => ({ value: r.value, low: r.low ?? r.value, high: r.high ?? r.value })),
    ])
    .refine((r) => r.low <= r.value && r.value <= r.high, { message: 'needs low <= value <= high' })
    .prefault(def)
}
export type Ranged = { readonly value: number; readonly low: number; readonly high: number }

/**
 * Documented defaults, each with where it comes from (research/power-sources.md §10, anchors-mission
 * §1.4). They are engineering typicals, not facts about any one site: override them in `attribution:`.
 */
export const ATTRIBUTION_SOURCES = {
  hostShareOfDevice:
    'non-accelerator node power (CPU, DRAM, NIC, fans, storage) as a share of accelerator power; 0.45 ≈ InferenceX chassis model (4,000 W GPU → 6,228 W AC at 94 % PSU ⇒ 0.46), range from lightly to heavily loaded hosts',
  hostOtherShare:
    'fans, NICs, storage, board and VR losses not seen by RAPL, as a share of (accelerators + CPU + DRAM); typical 5–25 %',
  psuEfficiency: '80 PLUS Titanium 230 V: ≥ 94 % at 20 % load, 96 % at 50 %, 91 % at 100 % (80 PLUS spec; research §10.1)',
  rackNetworkShare: 'top-of-rack / fabric switch power per node as a share of node power; MLPerf Training lets it be estimated as spec power × provisioning ratio; typical 1–6 %',
  pduEfficiency: 'rack PDUs, transformers and cabling lose 1–3 % (research §10.1)',
  pue: 'PUE 1.3 = InferenceX air-cooled default; range 1.1 (hyperscale / direct liquid cooling) to 1.58 (Uptime Institute 2023 global average)',
} as const

/** The default of every ranged assumption (so a report can tell a default from a user's value). */
export const ATTRIBUTION_DEFAULTS = {
  hostShareOfDevice: { value: 0.45, low: 0.25, high: 0.8 },
  hostOtherShare: { value: 0.1, low: 0.05, high: 0.25 },
  psuEfficiency: { value: 0.94, low: 0.9, high: 0.96 },
  rackNetworkShare: { value: 0.03, low: 0.01, high: 0.06 },
  pduEfficiency: { value: 0.98, low: 0.97, high: 0.99 },
  pue: { value: 1.3, low: 1.1, high: 1.58 },
} as const satisfies Record<keyof typeof ATTRIBUTION_SOURCES, Ranged>

export const AttributionSchema = z.strictObject({
  host: z
    .strictObject({
      source: z.enum(['auto', 'rapl', 'share']).default('auto').describe('`auto`: CPU + DRAM measured by a RAPL (component) meter when one runs, else `share`.'),
      shareOfDevice: ranged(ATTRIBUTION_DEFAULTS.hostShareOfDevice, { min: 0, max: 10 }).describe('All non-accelerator node power as a share of accelerator power (used without RAPL).'),
      otherShare: ranged(ATTRIBUTION_DEFAULTS.hostOtherShare, { min: 0, max: 10 }).describe('Components RAPL does not see, as a share of (accelerators + CPU + DRAM).'),
      fixedW: z.number().nonnegative().default(0).describe('Fixed watts added per node on top of the shares (e.g. a known baseboard floor).'),
    })
    .prefault({}),
  psuEfficiency: ranged(ATTRIBUTION_DEFAULTS.psuEfficiency, { min: 0.05, max: 1 }).describe('AC-to-DC efficiency of the node\'s power supplies (applied when the node is modelled).'),
  rack: z
    .strictObject({
      networkShare: ranged(ATTRIBUTION_DEFAULTS.rackNetworkShare, { min: 0, max: 10 }),
      pduEfficiency: ranged(ATTRIBUTION_DEFAULTS.pduEfficiency, { min: 0.05, max: 1 }),
    })
    .prefault({}),
  facility: z
    .strictObject({
      pue: ranged(ATTRIBUTION_DEFAULTS.pue, { min: 1, max: 5 }),
      pueCategory: z.union([z.literal(1), z.literal(2), z.literal(3)]).default(1).describe('Green Grid PUE category: 1 = IT measured at the UPS output (PDU losses count as IT, so the rack figure is multiplied); 2/3 = at the PDU output / equipment input (PDU losses are already in the PUE overhead, so they are taken out before multiplying: never counted twice).'),
    })
    .prefault({}),
  /** Provisioned power for tokens/s per provisioned MW. Absent: accelerators' enforced power caps. */
  provisioned: z
    .strictObject({
      perDeviceW: z.number().positive().optional().describe('Per accelerator (nameplate TDP or the cap you run at), W.'),
      devices: z.number().int().positive().optional().describe('Accelerators counted (default: the channels the device meters saw).'),
      nodeW: z.number().positive().optional().describe('Provisioned power of the node (nameplate, e.g. DGX H100 10,200 W), W.'),
      rackW: z.number().positive().optional(),
      facilityW: z.number().positive().optional(),
    })
    .prefault({}),
})
export type AttributionConfig = z.output<typeof AttributionSchema>

/** Parses `--pue X` or `--pue X:LOW-HIGH` into the attribution fragment it sets. */
export function parsePueFlag(text: string): unknown {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?::\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?))?\s*$/.exec(text)
  if (!m) return text
  return m[2] === undefined ? Number(m[1]) : { value: Number(m[1]), low: Number(m[2]), high: Number(m[3]) }
}
