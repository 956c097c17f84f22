import type { SnmpVendor } from '../../../core/config/meters-remote-schema.js'
import { J_PER_KWH, J_PER_WH } from '../../../core/units.js'

/**
 * Where each PDU vendor keeps power and energy, and how to scale the raw integers to W and J.
 * OIDs resolved from the vendors' MIB text (research/power-sources.md §7): APC PowerNet-MIB rPDU2,
 * Raritan PDU2-MIB, ServerTech Sentry4-MIB, Eaton EATON-EPDU-MIB. Pure data and arithmetic.
 */

/** One channel's objects: power and (optionally) an energy meter, each with its scale. */
export interface SnmpChannelPlan {
  /** Named per the meters README: `inlet-1`, `phase-2`, `outlet-3` (siblings; never nested here). */
  readonly channel: string
  readonly powerOid: string
  /** Watts per raw unit (APC device power is in hundredths of kW: 10). */
  readonly powerScaleW: number
  readonly energyOid?: string
  /** Joules per raw unit (0.1 kWh = 360 000 J; Wh = 3600 J). */
  readonly energyScaleJ?: number
  /** Raritan: the reading's Unix time (s), and the objects holding each value's decimal digits. */
  readonly powerTimeOid?: string
  readonly powerDigitsOid?: string
  readonly energyDigitsOid?: string
  /** The raw energy value wraps at this (an Unsigned32 meter); null when it does not or is unknown. */
  readonly energyModulusRaw: number | null
}

export type SnmpWhat = 'inlet' | 'phases' | 'outlets'

export interface SnmpSelection {
  readonly vendor: SnmpVendor
  readonly what: SnmpWhat
  readonly unit: number
  readonly inlet: number
  readonly outlets: readonly number[]
  readonly phases: readonly number[]
}

const APC = '1.3.6.1.4.1.318.1.1.26'
const RARITAN = '1.3.6.1.4.1.13742.6'
const SENTRY4 = '1.3.6.1.4.1.1718.4.1'
const EATON = '1.3.6.1.4.1.534.6.6.7'
const U32 = 2 ** 32
const TENTH_KWH_J = J_PER_KWH / 10

/** Raritan sensor types in the value tables' last index. */
const RARITAN_ACTIVE_POWER = 5
const RARITAN_ACTIVE_ENERGY = 8

/** sysDescr.0: what the agent says it is, for the preflight line. */
export const SYS_DESCR_OID = '1.3.6.1.2.1.1.1.0'

/** The channels to read for a selection. Phases for Raritan/ServerTech are refused by the schema. */
export function planChannels(sel: SnmpSelection): SnmpChannelPlan[] {
  const u = sel.unit
  switch (sel.vendor) {
    case 'apc':
      // rPDU2 tables are indexed by their own row index: device `unit`, phase and outlet numbers.
      if (sel.what === 'inlet')
        return [{ channel: `inlet-${sel.inlet}`, powerOid: `${APC}.4.3.1.5.${u}`, powerScaleW: 10, energyOid: `${APC}.4.3.1.9.${u}`, energyScaleJ: TENTH_KWH_J, energyModulusRaw: null }]
      if (sel.what === 'phases') return sel.phases.map((p) => ({ channel: `phase-${p}`, powerOid: `${APC}.6.3.1.7.${p}`, powerScaleW: 10, energyModulusRaw: null }))
      return sel.outlets.map((o) => ({ channel: `outlet-${o}`, powerOid: `${APC}.9.4.3.1.7.${o}`, powerScaleW: 1, energyOid: `${APC}.9.4.3.1.11.${o}`, energyScaleJ: TENTH_KWH_J, energyModulusRaw: null }))
    case 'raritan': {
      const inlet = sel.what === 'inlet'
      const value = inlet ? `${RARITAN}.5.2.3.1` : `${RARITAN}.5.4.3.1`
      const digits = inlet ? `${RARITAN}.3.3.4.1.7` : `${RARITAN}.3.5.4.1.7`
      const rows = inlet ? [sel.inlet] : sel.outlets
      return rows.map((n) => ({
        channel: `${inlet ? 'inlet' : 'outlet'}-${n}`,
        powerOid: `${value}.4.${u}.${n}.${RARITAN_ACTIVE_POWER}`,
        powerTimeOid: `${value}.5.${u}.${n}.${RARITAN_ACTIVE_POWER}`,
        powerDigitsOid: `${digits}.${u}.${n}.${RARITAN_ACTIVE_POWER}`,
        powerScaleW: 1,
        energyOid: `${value}.4.${u}.${n}.${RARITAN_ACTIVE_ENERGY}`,
        energyDigitsOid: `${digits}.${u}.${n}.${RARITAN_ACTIVE_ENERGY}`,
        energyScaleJ: J_PER_WH,
        // "will wrap around if the scaled sensor reading exceeds 4294967295" (PDU2-MIB).
        energyModulusRaw: U32,
      }))
    }
    case 'servertech':
      if (sel.what === 'inlet')
        return [{ channel: `inlet-${sel.inlet}`, powerOid: `${SENTRY4}.3.3.1.3.${u}.${sel.inlet}`, powerScaleW: 1, energyOid: `${SENTRY4}.3.3.1.10.${u}.${sel.inlet}`, energyScaleJ: TENTH_KWH_J, energyModulusRaw: null }]
      return sel.outlets.map((o) => ({
        channel: `outlet-${o}`,
        powerOid: `${SENTRY4}.8.3.1.7.${u}.${sel.inlet}.${o}`,
        powerScaleW: 1,
        energyOid: `${SENTRY4}.8.3.1.14.${u}.${sel.inlet}.${o}`,
        energyScaleJ: J_PER_WH,
        energyModulusRaw: null,
      }))
    case 'eaton':
      if (sel.what === 'inlet')
        return [{ channel: `inlet-${sel.inlet}`, powerOid: `${EATON}.3.5.1.4.${u}.${sel.inlet}`, powerScaleW: 1, energyOid: `${EATON}.3.5.1.5.${u}.${sel.inlet}`, energyScaleJ: J_PER_WH, energyModulusRaw: U32 }]
      if (sel.what === 'phases')
        return sel.phases.map((p) => ({ channel: `phase-${p}`, powerOid: `${EATON}.3.4.1.4.${u}.${sel.inlet}.${p}`, powerScaleW: 1, energyOid: `${EATON}.3.4.1.5.${u}.${sel.inlet}.${p}`, energyScaleJ: J_PER_WH, energyModulusRaw: U32 }))
      return sel.outlets.map((o) => ({ channel: `outlet-${o}`, powerOid: `${EATON}.6.5.1.3.${u}.${o}`, powerScaleW: 1, energyOid: `${EATON}.6.5.1.4.${u}.${o}`, energyScaleJ: J_PER_WH, energyModulusRaw: U32 }))
  }
}

/** A plan with Raritan's decimal digits applied (value = raw / 10^digits). */
export function withDigits(plan: SnmpChannelPlan, powerDigits: number | null, energyDigits: number | null): SnmpChannelPlan {
  return {
    ...plan,
    powerScaleW: plan.powerScaleW / 10 ** (powerDigits ?? 0),
    ...(plan.energyScaleJ !== undefined ? { energyScaleJ: plan.energyScaleJ / 10 ** (energyDigits ?? 0) } : {}),
  }
}

/**
 * A raw reading scaled, or null when the agent says "not available": APC and ServerTech use -1,
 * Eaton any negative value; a power or energy reading is never negative.
 */
export function scaled(raw: number | null, scale: number): number | null {
  if (raw === null || !Number.isFinite(raw) || raw < 0) return null
  return raw * scale
}

/** Typical accuracy and resolution per vendor (research §7.6): metering-grade PDUs state ±1 %. */
export function vendorResolutionW(vendor: SnmpVendor, what: SnmpWhat): number {
  return vendor === 'apc' && what !== 'outlets' ? 10 : 1
}
