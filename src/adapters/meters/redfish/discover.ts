import type { Boundary } from '../../../core/ports.js'
import type { RedfishMeterOptions } from '../../../core/config/meters-remote-schema.js'
import type { RedfishClient } from './redfish-client.js'
import {
  asObject,
  isoDurationMs,
  link,
  members,
  readExcerpts,
  readLegacyPower,
  readSensor,
  sensorEnergyUnit,
  type RedfishReading,
  type RedfishShape,
} from './readings.js'

/** One channel to poll: the resource(s) to GET each time and how to read them. */
export interface RedfishChannelPlan {
  /**
   * Named per the meters README: one chassis read whole is `node`, its supplies `psu-<Id>`
   * (siblings that add up); several chassis are told apart by their Id; a PDU's mains are
   * `inlet-<Id>`, outlets `outlet-<Id>`. Never a `/`: that would mean "contained in".
   */
  readonly channel: string
  /** The chassis (or PDU) the reading belongs to. */
  readonly chassisId: string
  readonly shape: RedfishShape
  /** Resource polled for power (and, for excerpt shapes, energy). */
  readonly uri: string
  /** A second resource polled for energy (a separate energy Sensor). */
  readonly energyUri?: string
  /** Sensor `SensingInterval` when the service gives one (ms). */
  readonly sensingIntervalMs: number | null
  readonly read: (body: unknown) => RedfishReading
  readonly readEnergy?: (body: unknown) => RedfishReading
}

export interface RedfishPlan {
  readonly channels: readonly RedfishChannelPlan[]
  /** The boundary these readings sit at, unless the config says otherwise. */
  readonly boundary: Boundary
  /** What was chosen and what was passed over, for the preflight message. */
  readonly notes: string[]
}

type Json = Record<string, unknown>
type Options = Pick<RedfishMeterOptions, 'source' | 'chassis' | 'pdu' | 'outlets' | 'energy'>

const CHASSIS_ORDER: readonly RedfishShape[] = ['environment-metrics', 'sensors', 'power-subsystem', 'power']

/** Last path segment of an `@odata.id`, the resource's Id in every implementation seen. */
function idOf(uri: string, resource?: Json): string {
  const id = resource?.Id
  if (typeof id === 'string' && id.length > 0) return id
  return decodeURIComponent(uri.replace(/\/+$/, '').split('/').pop() ?? uri)
}

/**
 * Finds what to read, starting from the service root. Chassis power per top-level chassis (never a
 * chassis together with one it contains, so a GPU baseboard's reading is not added to the server's
 * that includes it), trying EnvironmentMetrics → Sensors → PowerSubsystem supplies' input power →
 * legacy Power; or a RackPDU's mains or chosen outlets.
 */
export async function discoverRedfish(client: RedfishClient, root: unknown, options: Options): Promise<RedfishPlan> {
  const wantPdu = options.source === 'rack-pdu' || options.pdu !== undefined || options.outlets !== undefined
  const r = asObject(root) ?? {}
  const notes: string[] = []
  if (!wantPdu && link(r.Chassis) !== undefined) {
    const plan = await discoverChassis(client, r, options, notes)
    if (plan.channels.length > 0 || options.source !== 'auto' || link(r.PowerEquipment) === undefined) return plan
    notes.push('no chassis power reading found; trying PowerEquipment/RackPDUs')
  }
  if (link(r.PowerEquipment) === undefined) {
    notes.push(wantPdu ? 'the service root has no PowerEquipment (not a Redfish PDU)' : 'the service root lists neither Chassis nor PowerEquipment')
    return { channels: [], boundary: 'node', notes }
  }
  return discoverPdu(client, r, options, notes)
}

async function getJson(client: RedfishClient, uri: string): Promise<Json | undefined> {
  return asObject((await client.get(uri)).body)
}

async function discoverChassis(client: RedfishClient, root: Json, options: Options, notes: string[]): Promise<RedfishPlan> {
  const collectionUri = link(root.Chassis) ?? '/redfish/v1/Chassis'
  const uris = members(await getJson(client, collectionUri))
  const all: { uri: string; body: Json }[] = []
  for (const uri of uris) {
    const body = await getJson(client, uri)
    if (body !== undefined) all.push({ uri, body })
  }
  const byUri = new Map(all.map((c) => [c.uri, c]))
  const containedBy = (c: { body: Json }): string | undefined => link(asObject(c.body.Links)?.ContainedBy)

  let selected: { uri: string; body: Json }[]
  if (options.chassis !== undefined) {
    selected = []
    for (const want of options.chassis) {
      const hit = all.find((c) => idOf(c.uri, c.body) === want || c.uri === want)
      if (hit === undefined) {
        notes.push(`chassis ${want} not found (the service has: ${all.map((c) => idOf(c.uri, c.body)).join(', ') || 'none'})`)
        return { channels: [], boundary: 'node', notes }
      }
      selected.push(hit)
    }
    for (const c of selected) {
      // Walk up the containment chain: a chassis listed with one of its ancestors would be counted twice.
      for (let up = containedBy(c), hops = 0; up !== undefined && hops < 8; up = byUri.get(up) ? containedBy(byUri.get(up)!) : undefined, hops++) {
        const ancestor = selected.find((s) => s.uri === up)
        if (ancestor !== undefined) {
          notes.push(`chassis ${idOf(c.uri, c.body)} is inside ${idOf(ancestor.uri, ancestor.body)}: reading both would count its power twice; list only one`)
          return { channels: [], boundary: 'node', notes }
        }
      }
    }
  } else {
    selected = all.filter((c) => containedBy(c) === undefined || !byUri.has(containedBy(c)!))
    const skipped = all.filter((c) => !selected.includes(c)).map((c) => idOf(c.uri, c.body))
    if (skipped.length > 0) notes.push(`sub-chassis not added (inside another chassis): ${skipped.join(', ')}`)
  }

  const shapes = options.source === 'auto' ? CHASSIS_ORDER : CHASSIS_ORDER.filter((s) => s === options.source)
  const channels: RedfishChannelPlan[] = []
  for (const c of selected) {
    let found = await chassisChannels(client, c.uri, c.body, shapes, options, notes)
    if (found.length === 0 && options.chassis === undefined) {
      // An enclosure without its own meter: read the chassis it contains instead (one level down).
      const inside = asObject(c.body.Links)?.Contains
      const kids = Array.isArray(inside) ? inside.map(link).filter((u): u is string => u !== undefined) : []
      for (const k of kids) {
        const kid = byUri.get(k)
        if (kid !== undefined) found = found.concat(await chassisChannels(client, kid.uri, kid.body, shapes, options, notes))
      }
      if (found.length > 0) notes.push(`chassis ${idOf(c.uri, c.body)} has no power reading; reading the ${found.length} chassis it contains`)
    }
    if (found.length === 0) notes.push(`chassis ${idOf(c.uri, c.body)}: no power reading in ${shapes.join(', ')}`)
    channels.push(...found)
  }
  return { channels: nameChannels(channels), boundary: 'node', notes }
}

/** `node` / `psu-1` for one chassis; `<chassis>` / `<chassis>-psu-1` when several are read. */
function nameChannels(plans: RedfishChannelPlan[]): RedfishChannelPlan[] {
  const single = new Set(plans.map((p) => p.chassisId)).size === 1
  return plans.map((p) => {
    const whole = p.shape !== 'power-subsystem'
    const name = single ? (whole ? 'node' : p.channel) : whole ? p.chassisId : `${p.chassisId}-${p.channel}`
    return { ...p, channel: safe(name) }
  })
}

function safe(name: string): string {
  return name.replace(/\//g, '-')
}

async function chassisChannels(
  client: RedfishClient,
  uri: string,
  chassis: Json,
  shapes: readonly RedfishShape[],
  options: Options,
  notes: string[],
): Promise<RedfishChannelPlan[]> {
  const id = idOf(uri, chassis)
  const useKwh = options.energy === 'counter'
  for (const shape of shapes) {
    if (shape === 'environment-metrics') {
      const envUri = link(chassis.EnvironmentMetrics)
      if (envUri === undefined) continue
      const env = await getJson(client, envUri)
      const reading = readExcerpts(env, 'PowerWatts')
      if (reading.powerW === null && reading.energyJ === null) continue
      return [{ channel: id, chassisId: id, shape, uri: envUri, sensingIntervalMs: null, read: (b) => readExcerpts(b, 'PowerWatts') }]
    }
    if (shape === 'sensors') {
      const plan = await sensorChannel(client, id, chassis, useKwh, options.energy !== 'power', notes)
      if (plan !== undefined) return [plan]
      continue
    }
    if (shape === 'power-subsystem') {
      const found = await psuChannels(client, id, chassis)
      if (found.length > 0) return found
      continue
    }
    const powerUri = link(chassis.Power)
    if (powerUri === undefined) continue
    if (readLegacyPower(await getJson(client, powerUri)).powerW === null) continue
    return [{ channel: id, chassisId: id, shape: 'power', uri: powerUri, sensingIntervalMs: null, read: readLegacyPower }]
  }
  return []
}

function powerRank(s: Json): number {
  if (s.ReadingType !== 'Power') return 0
  const chassis = s.PhysicalContext === 'Chassis'
  const total = s.ElectricalContext === 'Total'
  return chassis && total ? 3 : chassis ? 2 : total && s.PhysicalContext === undefined ? 1 : 0
}

async function sensorChannel(
  client: RedfishClient,
  id: string,
  chassis: Json,
  useKwh: boolean,
  useCounter: boolean,
  notes: string[],
): Promise<RedfishChannelPlan | undefined> {
  const sensorsUri = link(chassis.Sensors)
  if (sensorsUri === undefined) return undefined
  const sensors: { uri: string; body: Json }[] = []
  for (const uri of members(await getJson(client, sensorsUri)).slice(0, 256)) {
    const body = await getJson(client, uri)
    if (body !== undefined) sensors.push({ uri, body })
  }
  // Exactly one power sensor per chassis: a chassis also lists CPU, PSU-output and per-rail power
  // sensors, and adding them would count the same watts several times.
  const power = sensors.filter((s) => powerRank(s.body) > 0).sort((a, b) => powerRank(b.body) - powerRank(a.body))[0]
  const energyRank = (s: Json): number => {
    const unit = sensorEnergyUnit(s)
    if (unit === null || s.ReadingType === 'Power' || (s.PhysicalContext !== 'Chassis' && s.ElectricalContext !== 'Total')) return 0
    return unit === 'kWh' ? (useKwh ? 1 : 0) : 2
  }
  const energy = useCounter ? sensors.filter((s) => energyRank(s.body) > 0).sort((a, b) => energyRank(b.body) - energyRank(a.body))[0] : undefined
  if (useCounter && energy === undefined && sensors.some((s) => energyRank({ ...s.body, ReadingUnits: 'J' }) > 0)) {
    notes.push(`chassis ${id}: its energy sensor counts whole kWh, too coarse for a benchmark window; power is integrated (energy: counter reads it anyway)`)
  }
  if (power === undefined && energy === undefined) return undefined
  const main = power ?? energy!
  return {
    channel: id,
    chassisId: id,
    shape: 'sensors',
    uri: main.uri,
    ...(power !== undefined && energy !== undefined ? { energyUri: energy.uri, readEnergy: readSensor } : {}),
    sensingIntervalMs: isoDurationMs(main.body.SensingInterval),
    read: readSensor,
  }
}

async function psuChannels(client: RedfishClient, id: string, chassis: Json): Promise<RedfishChannelPlan[]> {
  const subsystemUri = link(chassis.PowerSubsystem)
  if (subsystemUri === undefined) return []
  const suppliesUri = link((await getJson(client, subsystemUri))?.PowerSupplies)
  if (suppliesUri === undefined) return []
  const out: RedfishChannelPlan[] = []
  for (const psuUri of members(await getJson(client, suppliesUri))) {
    const psu = await getJson(client, psuUri)
    if (psu === undefined || asObject(psu.Status)?.State === 'Absent') continue
    const metricsUri = link(psu.Metrics)
    if (metricsUri === undefined) continue
    // Input watts (AC side): the supplies' sum is the node's draw at the wall, PSU losses included.
    if (readExcerpts(await getJson(client, metricsUri), 'InputPowerWatts').powerW === null) continue
    out.push({
      channel: `psu-${idOf(psuUri, psu)}`,
      chassisId: id,
      shape: 'power-subsystem',
      uri: metricsUri,
      sensingIntervalMs: null,
      read: (b) => readExcerpts(b, 'InputPowerWatts'),
    })
  }
  return out
}

async function discoverPdu(client: RedfishClient, root: Json, options: Options, notes: string[]): Promise<RedfishPlan> {
  const equipment = await getJson(client, link(root.PowerEquipment)!)
  const pdusUri = link(equipment?.RackPDUs)
  const pduUris = pdusUri !== undefined ? members(await getJson(client, pdusUri)) : []
  const pduUri = options.pdu !== undefined ? pduUris.find((u) => idOf(u) === options.pdu || u === options.pdu) : pduUris[0]
  if (pduUri === undefined) {
    notes.push(options.pdu !== undefined ? `rack PDU ${options.pdu} not found (the service has: ${pduUris.map((u) => idOf(u)).join(', ') || 'none'})` : 'the service lists no RackPDUs')
    return { channels: [], boundary: 'rack', notes }
  }
  const pdu = (await getJson(client, pduUri)) ?? {}
  const pduId = idOf(pduUri, pdu)
  const read = (b: unknown): RedfishReading => readExcerpts(b, 'PowerWatts')
  const plan = (channel: string, uri: string): RedfishChannelPlan => ({ channel: safe(channel), chassisId: pduId, shape: 'rack-pdu', uri, sensingIntervalMs: null, read })

  if (options.outlets !== undefined) {
    const outletsUri = link(pdu.Outlets)
    const outletUris = outletsUri !== undefined ? members(await getJson(client, outletsUri)) : []
    const channels: RedfishChannelPlan[] = []
    for (const want of options.outlets) {
      const uri = outletUris.find((u) => idOf(u) === want)
      if (uri === undefined) {
        notes.push(`outlet ${want} not found on PDU ${pduId} (it has: ${outletUris.map((u) => idOf(u)).join(', ') || 'none'})`)
        return { channels: [], boundary: 'node', notes }
      }
      channels.push(plan(`outlet-${want}`, uri))
    }
    return { channels, boundary: 'node', notes }
  }
  const mainsUri = link(pdu.Mains)
  const mains = mainsUri !== undefined ? members(await getJson(client, mainsUri)) : []
  if (mains.length > 0) return { channels: mains.map((u) => plan(`inlet-${idOf(u)}`, u)), boundary: 'rack', notes }
  const metricsUri = link(pdu.Metrics)
  if (metricsUri !== undefined) return { channels: [plan('pdu', metricsUri)], boundary: 'rack', notes }
  notes.push(`PDU ${pduId} has neither Mains nor Metrics`)
  return { channels: [], boundary: 'rack', notes }
}
