/**
 * Parsers for DCMI "Get Power Reading" as the two IPMI tools print it (research/power-sources.md §5).
 * Anchored on the labels, never on columns: ipmitool ≥ 1.8.19 prints "IPMI timestamp" and
 * "Sampling period" on one line, the timestamp is locale-dependent, and FreeIPMI flips the case of
 * "Watts" between versions.
 */
export interface DcmiReading {
  /** Instantaneous power (W); null when the BMC gave none or an invalid one. */
  readonly powerW: number | null
  /** Whether the BMC says power reading is active; null when it does not say. */
  readonly active: boolean | null
  /** Why the reading is not usable, when it is not. */
  readonly problem: string | null
}

/** 0 W and 0xFFFF W are what broken or unsupported DCMI firmware answers. */
function judge(powerW: number | null, active: boolean | null): DcmiReading {
  if (active === false) return { powerW: null, active, problem: 'the BMC reports power reading as deactivated' }
  if (powerW === null) return { powerW: null, active, problem: 'no power reading in the output' }
  if (powerW === 0) return { powerW: null, active, problem: 'the BMC answered 0 W (DCMI power reading unsupported by this firmware?)' }
  if (powerW >= 65535) return { powerW: null, active, problem: 'the BMC answered 65535 W (not a reading)' }
  return { powerW, active, problem: null }
}

/** `ipmitool dcmi power reading` (old and new layouts). */
export function parseIpmitoolReading(text: string): DcmiReading {
  const p = /Instantaneous power reading:\s*(\d+)\s*Watts/i.exec(text)
  const s = /Power reading state is:\s*(\w+)/i.exec(text)
  return judge(p ? Number(p[1]) : null, s ? (s[1] as string).toLowerCase() === 'activated' : null)
}

/** `ipmi-dcmi --get-system-power-statistics` (FreeIPMI). */
export function parseFreeipmiReading(text: string): DcmiReading {
  const p = /Current Power\s*:\s*(\d+)\s*Watts/i.exec(text)
  const s = /Power Measurement\s*:\s*([A-Za-z ]+)/i.exec(text)
  return judge(p ? Number(p[1]) : null, s ? (s[1] as string).trim().toLowerCase() === 'active' : null)
}
