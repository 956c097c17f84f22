import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs'
import { join } from 'node:path'

/**
 * The Linux powercap tree (`/sys/class/powercap`, Documentation/power/powercap/powercap.rst): RAPL
 * zones found by their `name` file, never by index (`intel-rapl:1` is `package-1` on a two-socket
 * server but `psys` on a laptop). Channel names follow the meters README: `package-N`, `dram-N`,
 * `psys`, and subzones contained in a package nested under it (`package-0/core`). A DRAM zone sits
 * under its package in sysfs but is a separate RAPL domain (not inside the package's energy), so it
 * is its own top-level channel.
 */
export interface RaplZone {
  /** Channel name (`package-0`, `dram-0`, `package-0/core`, `psys`). */
  readonly channel: string
  /** The zone's own `name` file. */
  readonly name: string
  readonly dir: string
  readonly energyFile: string
  /** Wrap modulus in µJ (`max_energy_range_uj`); null when the file is missing or unreadable. */
  readonly maxRangeUj: number | null
}

const ZONE_DIR = /^(intel-rapl(?:-mmio|-tpmi)?):(\d+(?::\d+)*)$/

function readTrim(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim()
  } catch {
    return null
  }
}

/** Every RAPL zone under `root`, MSR interface first; an MMIO/TPMI duplicate of a domain is dropped. */
export function discoverZones(root: string): RaplZone[] {
  if (!existsSync(root)) return []
  const dirs = readdirSync(root)
    .map((d) => ({ d, m: ZONE_DIR.exec(d) }))
    .filter((x): x is { d: string; m: RegExpExecArray } => x.m !== null)
    .sort((a, b) => order(a.m[1] as string) - order(b.m[1] as string) || a.d.localeCompare(b.d, 'en', { numeric: true }))
  const byDir = new Map<string, string>() // dir id → name
  for (const { d } of dirs) byDir.set(d, readTrim(join(root, d, 'name')) ?? d)
  const zones: RaplZone[] = []
  const seen = new Set<string>()
  for (const { d, m } of dirs) {
    const iface = m[1] as string
    const path = (m[2] as string).split(':')
    const name = byDir.get(d) ?? d
    let channel: string
    if (path.length === 1) {
      channel = name
    } else {
      const parentId = `${iface}:${path.slice(0, -1).join(':')}`
      const parentName = byDir.get(parentId) ?? parentId
      const socket = /-(\d+)(?:-die-\d+)?$/.exec(parentName)?.[1] ?? path[0]
      // dram is its own domain even though sysfs puts it under the package
      channel = name === 'dram' ? `dram-${socket}` : `${parentName}/${name}`
    }
    if (seen.has(channel)) continue
    seen.add(channel)
    const range = Number(readTrim(join(root, d, 'max_energy_range_uj')))
    zones.push({ channel, name, dir: join(root, d), energyFile: join(root, d, 'energy_uj'), maxRangeUj: Number.isFinite(range) && range > 0 ? range : null })
  }
  return zones
}

function order(iface: string): number {
  return iface === 'intel-rapl' ? 0 : iface === 'intel-rapl-tpmi' ? 1 : 2
}

/**
 * Picks the zones to read. Absent selection: every package and DRAM zone (their sum is the CPU +
 * memory power; psys would contain them). A selector matches a channel exactly, or a name across
 * sockets (`dram` → every `dram-N`, `core` → every `package-N/core`, `package` → every package).
 * When `psys` is read with other zones, they are nested under it (it contains them).
 */
export function selectZones(all: readonly RaplZone[], selectors: readonly string[] | undefined): { zones: RaplZone[]; unknown: string[] } {
  const unknown: string[] = []
  let picked: RaplZone[]
  if (!selectors || selectors.length === 0) {
    picked = all.filter((z) => /^package-\d+(-die-\d+)?$/.test(z.channel) || /^dram(-\d+)?$/.test(z.channel))
    if (picked.length === 0) picked = all.filter((z) => !z.channel.includes('/'))
  } else {
    const set = new Set<RaplZone>()
    for (const s of selectors) {
      const hits = all.filter((z) => z.channel === s || z.name === s || z.channel.replace(/-\d+(?=$|\/)/, '') === s)
      if (hits.length === 0) unknown.push(s)
      for (const h of hits) set.add(h)
    }
    picked = all.filter((z) => set.has(z))
  }
  if (picked.some((z) => z.channel === 'psys') && picked.length > 1) picked = picked.map((z) => (z.channel === 'psys' ? z : { ...z, channel: `psys/${z.channel}` }))
  return { zones: picked, unknown }
}

/** Reads one zone's counter (µJ). Throws the fs error (EACCES, ENOENT) for the caller to explain. */
export function readEnergyUj(zone: RaplZone): number {
  const v = Number(readFileSync(zone.energyFile, 'utf8').trim())
  if (!Number.isFinite(v)) throw new Error(`${zone.energyFile} does not hold a number`)
  return v
}

/**
 * Keeps each zone's `energy_uj` open and re-reads it with pread at offset 0 (sysfs regenerates the
 * value on every read from the start), which saves the open/close of a fresh read on every poll.
 */
export class ZoneReader {
  private readonly fds: (number | null)[]
  private readonly buf = Buffer.allocUnsafe(32)

  constructor(private readonly zones: readonly RaplZone[]) {
    this.fds = zones.map((z) => {
      try {
        return openSync(z.energyFile, 'r')
      } catch {
        return null
      }
    })
  }

  /** The zone's counter (µJ), or null when it cannot be read this time. */
  read(i: number): number | null {
    const fd = this.fds[i]
    if (fd === null || fd === undefined) return null
    try {
      const n = readSync(fd, this.buf, 0, this.buf.length, 0)
      const v = Number(this.buf.toString('latin1', 0, n).trim())
      return Number.isFinite(v) ? v : null
    } catch {
      return null
    }
  }

  close(): void {
    for (const fd of this.fds) if (fd !== null) closeSync(fd)
    this.fds.fill(null)
  }
}
