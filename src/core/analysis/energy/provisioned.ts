/**
 * Provisioned power at a boundary: what the site has to reserve for the equipment, as opposed to what
 * it drew. InferenceX's "tokens/s per all-in provisioned MW" divides by it. Sources, best first: the
 * config's value at that boundary; else the level below's provisioned power carried up with the
 * attribution model (nominal values); at the device, the config's per-device watts or the enforced
 * power caps the device meters read.
 */
import type { AttributionConfig } from '../../config/meters-schema.js'
import type { Boundary, MeterInfo } from '../../ports.js'

export interface ProvisionedInput {
  readonly boundary: Boundary
  readonly attribution: AttributionConfig
  readonly meters: readonly MeterInfo[]
  /** Device channels counted in the device energy (GPU UUIDs). */
  readonly deviceChannels: readonly string[]
}

export interface Provisioned {
  readonly watts: number | null
  /** How it was obtained, e.g. `enforced power caps of 8 devices (nvml)` + `× node model`. */
  readonly source: string | null
  readonly warnings: readonly string[]
}

export function provisionedPower(input: ProvisionedInput): Provisioned {
  const p = input.attribution.provisioned
  const a = input.attribution
  const warnings: string[] = []

  const device = ((): { w: number; src: string } | null => {
    if (p.perDeviceW !== undefined) {
      const n = p.devices ?? input.deviceChannels.length
      if (n === 0) return null
      return { w: p.perDeviceW * n, src: `${n} × ${p.perDeviceW} W per device (attribution.provisioned)` }
    }
    const caps = new Map<string, number>()
    for (const m of input.meters) {
      if (m.boundary !== 'device' || m.component !== undefined || !m.powerLimitW) continue
      for (const [ch, w] of Object.entries(m.powerLimitW)) if (!caps.has(ch) && Number.isFinite(w) && w > 0) caps.set(ch, w)
    }
    const chans = input.deviceChannels.length > 0 ? input.deviceChannels.filter((c) => caps.has(c)) : [...caps.keys()]
    if (chans.length === 0) return null
    const w = chans.reduce((s, c) => s + (caps.get(c) ?? 0), 0)
    if (p.devices !== undefined && p.devices !== chans.length) {
      const per = w / chans.length
      return { w: per * p.devices, src: `${p.devices} × ${per.toFixed(0)} W enforced power cap (read from ${chans.length} devices)` }
    }
    return { w, src: `enforced power caps of ${chans.length} device${chans.length === 1 ? '' : 's'} (read from the meters)` }
  })()

  const node = p.nodeW !== undefined ? { w: p.nodeW, src: 'node nameplate (attribution.provisioned.nodeW)' } : device ? { w: (device.w * (1 + a.host.shareOfDevice.value) + a.host.fixedW) / a.psuEfficiency.value, src: `${device.src}, carried to the node with the host share and PSU efficiency` } : null
  const rack = p.rackW !== undefined ? { w: p.rackW, src: 'rack provisioned power (attribution.provisioned.rackW)' } : node ? { w: (node.w * (1 + a.rack.networkShare.value)) / a.rack.pduEfficiency.value, src: `${node.src}, carried to the rack with network share and PDU efficiency` } : null
  const facility =
    p.facilityW !== undefined
      ? { w: p.facilityW, src: 'facility provisioned power (attribution.provisioned.facilityW)' }
      : rack
        ? { w: rack.w * (a.facility.pueCategory === 1 ? 1 : a.rack.pduEfficiency.value) * a.facility.pue.value, src: `${rack.src}, × PUE ${a.facility.pue.value}` }
        : null

  // the cluster is the run's racks: what they reserve (no equipment above the racks is modelled)
  const cluster = rack !== null ? { w: rack.w, src: `${rack.src} (the racks of the run)` } : null
  const chosen = { device, node, rack, cluster, facility }[input.boundary]
  if (chosen === null)
    warnings.push(
      `no provisioned power at the ${input.boundary} boundary: set attribution.provisioned.perDeviceW (e.g. 700 for an H100 SXM) or ${input.boundary === 'device' ? 'use a meter that reads the power cap (nvml)' : input.boundary === 'cluster' ? 'attribution.provisioned.rackW' : `attribution.provisioned.${input.boundary}W`}`,
    )
  return { watts: chosen?.w ?? null, source: chosen?.src ?? null, warnings }
}
