import { z } from 'zod'
// from meter-common-schema (not meters-schema) so the two schema files do not import each other in a cycle
import { BoundarySchema, meterCommon } from './meter-common-schema.js'

/**
 * Options of the remote meters (issue 4 part B): Redfish BMCs and PDUs, SNMP PDUs, Prometheus.
 * Kept apart from meters-schema.ts (part A: the selection, the other kinds, the union) so two people
 * can edit at once; meters-schema.ts puts these three into its `kind` union.
 *
 * Secrets are never values here, only the *names* of environment variables holding them, so a
 * config file can be committed and a resolved config stored with a run.
 *
 * @example
 * ```yaml
 * meters:
 *   - kind: redfish
 *     url: https://10.0.0.5
 *     user: root
 *     passwordEnv: BMC_PASSWORD
 *     tls: { fingerprint256: "9F:86:D0:...:08" }   # the BMC's self-signed certificate, pinned
 *   - kind: snmp
 *     vendor: raritan
 *     host: pdu-a.lab
 *     outlets: [3, 4]                              # the outlets feeding this server
 *   - kind: prometheus
 *     url: http://prometheus:9090
 *     preset: dcgm
 *     selector: '{Hostname="gpu-node-01"}'
 * ```
 */

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
const labelValue = z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : - only')
/** Per-target labels of a list of BMCs, PDUs or nodes: each target becomes a meter of its own. */
const targetLabels = {
  id: labelValue.optional().describe('Meter id of this target (default: the list\'s id or kind, then the node or host).'),
  node: labelValue.optional().describe('Node this target reads (default: a Redfish BMC\'s host name).'),
  rack: labelValue.optional().describe('Rack this target stands in.'),
}
const redfishUrl = z.url({ protocol: /^https?$/, error: 'must be an https URL such as https://10.0.0.5' })
const index = z.number().int().positive()

/**
 * Fields every remote meter shares with the other kinds (part A's `meterCommon`). The boundary
 * default depends on what is found (a chassis is `node`, a PDU's mains `rack`, a DCGM GPU `device`),
 * so it stays optional here and the adapter fills it in.
 */
const common = {
  ...meterCommon,
  boundary: BoundarySchema.optional(),
  timeoutMs: z.number().positive().max(120_000).default(5_000).describe('Per-request timeout (ms).'),
}

/**
 * TLS trust for one target. Default: the system CA store. BMCs ship self-signed certificates: pin the
 * certificate's SHA-256 fingerprint (the preflight error prints the one it saw) or name a CA file.
 * `insecure` turns verification off for this target only, never process-wide.
 */
export const RemoteTlsSchema = z
  .strictObject({
    /** SHA-256 fingerprint of the server certificate (hex, colons optional). Pinned: the CA chain and host name are not checked. */
    fingerprint256: z
      .string()
      .transform((s) => s.replace(/^sha256[:/ ]?/i, '').replace(/[:\s]/g, '').toUpperCase())
      .pipe(z.string().regex(/^[0-9A-F]{64}$/, 'must be a SHA-256 fingerprint: 64 hex digits, colons optional'))
      .optional(),
    caFile: z.string().min(1).optional().describe('PEM file of the CA (or the self-signed certificate itself) to trust for this target.'),
    servername: z.string().min(1).optional().describe('Name to verify the certificate against, when the URL holds an IP address.'),
    insecure: z.boolean().default(false).describe('Turn certificate verification off for this target. Credentials may then reach an impostor.'),
  })
  .refine((t) => !(t.insecure && (t.fingerprint256 !== undefined || t.caFile !== undefined)), {
    message: 'insecure cannot be combined with fingerprint256 or caFile',
  })

export const RedfishSourceSchema = z.enum(['auto', 'environment-metrics', 'sensors', 'power-subsystem', 'power', 'rack-pdu'])
export type RedfishSource = z.output<typeof RedfishSourceSchema>

/**
 * A Redfish service (BMC or PDU). `source: auto` walks EnvironmentMetrics → Sensors →
 * PowerSubsystem supplies' input power → legacy Power, per top-level chassis (sub-chassis such as
 * GPU baseboards are skipped so nothing is counted twice), or RackPDUs when the service has no
 * chassis power but has power equipment.
 */
export const RedfishMeterSchema = z.strictObject({
  kind: z.literal('redfish'),
  ...common,
  periodMs: z.number().min(100).default(2_000),
  url: redfishUrl.optional().describe('Service address (`https://host[:port]`); the service root is `/redfish/v1`. Or `targets` for several.'),
  targets: z
    .array(z.strictObject({ url: redfishUrl, ...targetLabels, chassis: z.array(z.string().min(1)).optional(), outlets: z.array(z.string().min(1)).optional() }))
    .min(1)
    .optional()
    .describe('Several BMCs (or PDUs) with these settings, one meter each: `[{url, node, rack}]`. A BMC\'s node defaults to its host name; PDUs (`source: rack-pdu`) without a node each count as their own equipment. Their energy adds up per node and rack, each counted once.'),
  user: z.string().min(1).optional().describe('User name; absent: read from `userEnv`.'),
  userEnv: envName.default('TOKENWATT_REDFISH_USER'),
  passwordEnv: envName.default('TOKENWATT_REDFISH_PASSWORD'),
  auth: z.enum(['session', 'basic', 'none']).default('session').describe('`session` logs in once (X-Auth-Token) and logs out on stop; `basic` sends credentials each request.'),
  tls: RemoteTlsSchema.default({ insecure: false }),
  source: RedfishSourceSchema.default('auto'),
  chassis: z.array(z.string().min(1)).optional().describe('Chassis ids to read; absent: every top-level chassis (not contained by another).'),
  pdu: z.string().min(1).optional().describe('Rack PDU id (`/redfish/v1/PowerEquipment/RackPDUs/{id}`); absent: the first one.'),
  outlets: z.array(z.string().min(1)).optional().describe('Outlet ids to read on the PDU (e.g. the ones feeding this server); absent: the PDU\'s mains.'),
  energy: z.enum(['auto', 'counter', 'power']).default('auto').describe('Energy counters: `auto` uses EnergyJoules / EnergyWh sensors as counters and integrates power where only EnergykWh exists (too coarse for a benchmark window); `counter` also uses EnergykWh; `power` never uses counters.'),
}).superRefine((o, ctx) => {
  if ((o.url === undefined) === (o.targets === undefined)) ctx.addIssue({ code: 'custom', path: ['url'], message: 'give url (one service) or targets (several), not both or neither' })
})
export type RedfishMeterOptions = z.output<typeof RedfishMeterSchema>
/** One service: what a meter reads once `targets` is expanded (meter-list.ts). */
export type RedfishServiceOptions = Omit<RedfishMeterOptions, 'url' | 'targets'> & { readonly url: string }

export const SnmpVendorSchema = z.enum(['apc', 'raritan', 'servertech', 'eaton'])
export type SnmpVendor = z.output<typeof SnmpVendorSchema>

export const SnmpV3UserSchema = z.strictObject({
  name: z.string().min(1),
  level: z.enum(['noAuthNoPriv', 'authNoPriv', 'authPriv']).default('authPriv'),
  authProtocol: z.enum(['md5', 'sha', 'sha224', 'sha256', 'sha384', 'sha512']).default('sha'),
  authKeyEnv: envName.default('TOKENWATT_SNMP_AUTH_KEY'),
  privProtocol: z.enum(['des', 'aes', 'aes256b', 'aes256r']).default('aes'),
  privKeyEnv: envName.default('TOKENWATT_SNMP_PRIV_KEY'),
})
export type SnmpV3User = z.output<typeof SnmpV3UserSchema>

/**
 * A metered PDU over SNMP. `what` picks the inlet (the whole PDU input), its phases, or outlets
 * (outlet-metered models; list the ones feeding the system under test). The energy meter is used as a
 * counter only where its resolution is 1 Wh or finer (Raritan, Eaton, ServerTech outlets); APC's
 * and ServerTech cords' 0.1 kWh meters are read for the record but power is integrated.
 */
export const SnmpMeterSchema = z
  .strictObject({
    kind: z.literal('snmp'),
    ...common,
    periodMs: z.number().min(100).default(1_000),
    timeoutMs: z.number().positive().default(2_000),
    retries: z.number().int().nonnegative().default(1),
    vendor: SnmpVendorSchema,
    host: z.string().min(1).optional().describe('The PDU\'s address. Or `targets` for several.'),
    port: z.number().int().min(1).max(65_535).default(161),
    targets: z
      .array(z.strictObject({ host: z.string().min(1), port: z.number().int().min(1).max(65_535).optional(), ...targetLabels, outlets: z.array(index).min(1).optional() }))
      .min(1)
      .optional()
      .describe('Several PDUs with these settings, one meter each: `[{host, node, rack, outlets}]`. Each is its own equipment: their energy adds up (per node and rack where labelled).'),
    version: z.enum(['2c', '3']).default('2c'),
    communityEnv: envName.default('TOKENWATT_SNMP_COMMUNITY').describe('v2c community; absent variable: `public`.'),
    v3: SnmpV3UserSchema.optional(),
    unit: z.number().int().nonnegative().optional().describe('PDU / unit index in a daisy chain; default the first: 1, or Eaton\'s strapping index 0.'),
    inlet: index.default(1).describe('Inlet / input cord index.'),
    what: z.enum(['inlet', 'phases', 'outlets']).optional(),
    outlets: z.array(index).min(1).optional(),
    phases: z.array(index).min(1).optional(),
    energy: z.enum(['auto', 'counter', 'power']).default('auto').describe('`auto`: counters at ≤1 Wh resolution; `counter`: any energy meter; `power`: never.'),
  })
  .superRefine((o, ctx) => {
    if ((o.host === undefined) === (o.targets === undefined)) ctx.addIssue({ code: 'custom', path: ['host'], message: 'give host (one PDU) or targets (several), not both or neither' })
    if (o.version === '3' && o.v3 === undefined) ctx.addIssue({ code: 'custom', path: ['v3'], message: 'version 3 needs a v3 user ({ name, level, ... })' })
    const what = o.what ?? (o.outlets ? 'outlets' : o.phases ? 'phases' : 'inlet')
    if (what === 'outlets' && o.outlets === undefined && !(o.targets ?? []).every((t) => t.outlets !== undefined)) ctx.addIssue({ code: 'custom', path: ['outlets'], message: 'what: outlets needs the outlet numbers to read' })
    if (what === 'phases' && (o.vendor === 'raritan' || o.vendor === 'servertech'))
      ctx.addIssue({ code: 'custom', path: ['what'], message: `phase power is not read for ${o.vendor}; use inlet or outlets` })
  })
export type SnmpMeterOptions = z.output<typeof SnmpMeterSchema>
/** One PDU: what a meter reads once `targets` is expanded (meter-list.ts). */
export type SnmpPduOptions = Omit<SnmpMeterOptions, 'host' | 'targets'> & { readonly host: string }

export const PowerUnitSchema = z.enum(['W', 'mW', 'uW', 'kW'])
export const EnergyUnitSchema = z.enum(['J', 'mJ', 'uJ', 'kJ', 'Wh', 'kWh'])

export const PrometheusPresetSchema = z.enum(['dcgm', 'kepler', 'kepler-gpu', 'kepler-platform', 'scaphandre', 'custom'])
export type PrometheusPreset = z.output<typeof PrometheusPresetSchema>

/**
 * Power and energy series in a Prometheus server (DCGM exporter, Kepler, Scaphandre, anything with a
 * unit). Raw samples of the window are fetched and integrated here (counter resets handled), not
 * PromQL's extrapolating `increase()`. A bare selector gives raw scrape samples; any other
 * expression is evaluated every `periodMs` over the window.
 */
export const PrometheusMeterSchema = z
  .strictObject({
    kind: z.literal('prometheus'),
    ...common,
    periodMs: z.number().min(100).default(5_000).describe('Live poll period (ms); also the step for expressions that are not bare selectors.'),
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:9090' }),
    preset: PrometheusPresetSchema.default('dcgm'),
    selector: z.string().regex(/^\{.*\}$/s, 'must be label matchers in braces, e.g. {instance="node1:9400"}').optional().describe('Label matchers added to the preset\'s selectors, e.g. `{Hostname="gpu-node-01"}`.'),
    power: z.strictObject({ query: z.string().min(1), unit: PowerUnitSchema }).optional().describe('Power query (custom preset, or to override the preset\'s).'),
    energy: z.strictObject({ query: z.string().min(1), unit: EnergyUnitSchema }).optional().describe('Cumulative energy query (a counter).'),
    channel: z.string().min(1).optional().describe('Channel name from labels: `{UUID}`, `{instance}/{gpu}`; default: the preset\'s.'),
    nodes: z.array(labelValue).min(1).optional().describe('Read these nodes\' series apart, one meter per node labelled with it (DCGM exporter or Kepler on every node): energy per node, coverage per node, added up once each.'),
    nodeLabel: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a Prometheus label name').optional().describe('The label naming the node in the series (`nodes`); default: `Hostname` for dcgm, `node_name` for the Kepler presets, `instance` for scaphandre.'),
    bearerTokenEnv: envName.optional().describe('Bearer token from this variable.'),
    basicUser: z.string().min(1).optional().describe('Basic auth user and password variable.'),
    basicPasswordEnv: envName.optional(),
    tls: RemoteTlsSchema.default({ insecure: false }),
    settleMaxMs: z.number().nonnegative().default(60_000).describe('Most time to wait after stop for the scrape that covers the window\'s end (ms).'),
    use: z.enum(['auto', 'counter', 'power']).default('auto').describe('Use the counter (`auto`: when the preset/config has one), or only power.'),
  })
  .superRefine((o, ctx) => {
    if (o.preset === 'custom' && o.power === undefined && o.energy === undefined)
      ctx.addIssue({ code: 'custom', path: ['power'], message: 'preset custom needs power: {query, unit} or energy: {query, unit}' })
    if (o.nodes !== undefined && o.nodeLabel === undefined && o.preset === 'custom')
      ctx.addIssue({ code: 'custom', path: ['nodeLabel'], message: 'nodes with preset custom needs nodeLabel: the label that names the node in your series' })
    if ((o.basicUser === undefined) !== (o.basicPasswordEnv === undefined))
      ctx.addIssue({ code: 'custom', path: ['basicUser'], message: 'basic auth needs both basicUser and basicPasswordEnv' })
  })
export type PrometheusMeterOptions = z.output<typeof PrometheusMeterSchema>

/**
 * The `--meter KIND:ARG` short forms of the remote meters, as plain data for the schema:
 * `redfish:https://10.0.0.5`, `snmp:apc@10.0.0.9` (vendor@host[:port]),
 * `prometheus:http://prom:9090` or `prometheus:kepler@http://prom:9090` (preset@url).
 * Returns what to validate; the schema reports what is wrong.
 */
export function parseRemoteMeterArg(kind: 'redfish' | 'snmp' | 'prometheus', arg: string): Record<string, unknown> {
  if (kind === 'redfish') return { kind, url: arg }
  if (kind === 'snmp') {
    const m = /^([a-z]+)@(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(arg)
    if (!m) return { kind, host: arg }
    return { kind, vendor: m[1], host: m[2]?.replace(/^\[|\]$/g, ''), ...(m[3] ? { port: Number(m[3]) } : {}) }
  }
  const m = /^([a-z-]+)@(https?:\/\/.+)$/.exec(arg)
  return m ? { kind, preset: m[1], url: m[2] } : { kind, url: arg }
}
