import { z } from 'zod'
import { MeterSpecSchema, type MeterSpec, type MeterSpecOf } from './meters-schema.js'

/**
 * The `meters:` list of a run, with every list form expanded into one meter per target, so the rest of
 * the tool (ids, coverage, attribution, merge) sees one meter per piece of equipment:
 *
 * - `redfish` with `targets: [{url, node, rack}]`: one meter per BMC or PDU;
 * - `snmp` with `targets: [{host, node, rack, outlets}]`: one meter per PDU;
 * - `prometheus` with `nodes: [a, b]`: one meter per node, its selector narrowed to that node's series
 *   (`{Hostname="a"}` for DCGM, `{node_name="a"}` for Kepler).
 *
 * Each expanded meter carries a `node` (a BMC defaults to its host name) or, where nothing names one,
 * a `group` of its own, so meters of different equipment add up instead of standing in for each
 * other. Validation (and its line-numbered errors) happens on the list as written; the expansion after.
 *
 * @example
 * MeterListSchema.parse([{ kind: 'redfish', targets: [{ url: 'https://bmc-1' }, { url: 'https://bmc-2' }] }])
 * // → two redfish meters: ids redfish-bmc-1 and redfish-bmc-2, nodes bmc-1 and bmc-2
 */
export const MeterListSchema = z.array(MeterSpecSchema).transform(expandMeterSpecs)

/** The label naming the node in each preset's series. */
const NODE_LABEL: Record<Exclude<MeterSpecOf<'prometheus'>['preset'], 'custom'>, string> = {
  dcgm: 'Hostname',
  kepler: 'node_name',
  'kepler-gpu': 'node_name',
  'kepler-platform': 'node_name',
  scaphandre: 'instance',
}

export function expandMeterSpecs(specs: readonly MeterSpec[]): MeterSpec[] {
  return specs.flatMap((s): MeterSpec[] => {
    if (s.kind === 'redfish' && s.targets !== undefined) {
      const { targets, ...one } = s
      return targets.map((t) => {
        const host = hostOf(t.url)
        // a BMC is a node's; a rack PDU without a node label is equipment of its own
        const node = t.node ?? s.node ?? (s.source === 'rack-pdu' ? undefined : host)
        return withLabels({ ...one, url: t.url, ...(t.chassis !== undefined ? { chassis: t.chassis } : {}), ...(t.outlets !== undefined ? { outlets: t.outlets } : {}) }, t.id ?? `${s.id ?? s.kind}-${t.node ?? host}`, node, t.rack ?? s.rack, `${s.group ?? s.kind}:${host}`)
      })
    }
    if (s.kind === 'snmp' && s.targets !== undefined) {
      const { targets, ...one } = s
      return targets.map((t) =>
        withLabels({ ...one, host: t.host, ...(t.port !== undefined ? { port: t.port } : {}), ...(t.outlets !== undefined ? { outlets: t.outlets } : {}) }, t.id ?? `${s.id ?? s.kind}-${t.node ?? labelOf(t.host)}`, t.node ?? s.node, t.rack ?? s.rack, `${s.group ?? s.kind}:${t.host}`),
      )
    }
    if (s.kind === 'prometheus' && s.nodes !== undefined) {
      const { nodes, ...one } = s
      const label = s.nodeLabel ?? (s.preset === 'custom' ? 'instance' : NODE_LABEL[s.preset])
      return nodes.map((n) => ({ ...one, id: `${s.id ?? s.kind}-${n}`, node: n, selector: mergeSelectors(s.selector, `{${label}=${JSON.stringify(n)}}`) }))
    }
    return [s]
  })
}

/** The spec with its id and labels; a group of its own only where no node or rack tells it apart. */
function withLabels<T extends MeterSpec>(spec: T, id: string, node: string | undefined, rack: string | undefined, group: string): T {
  return { ...spec, id, ...(node !== undefined ? { node } : {}), ...(rack !== undefined ? { rack } : {}), ...(node === undefined && spec.group === undefined ? { group } : {}) }
}

function hostOf(url: string): string {
  return labelOf(new URL(url).hostname.replace(/^\[|\]$/g, ''))
}

/** A host name as a label value (letters, digits, `_ . : -`). */
function labelOf(host: string): string {
  return host.replace(/[^A-Za-z0-9_.:-]/g, '_')
}

/** `{a="1"}` and `{b="2"}` → `{a="1",b="2"}`. */
export function mergeSelectors(a: string | undefined, b: string): string {
  const inner = (s: string): string => s.trim().replace(/^\{|\}$/g, '').trim()
  return `{${[a, b].filter((x): x is string => x !== undefined && inner(x) !== '').map(inner).join(',')}}`
}
