import type { SnmpPduOptions } from '../../../core/config/meters-remote-schema.js'
import { MeterUnavailableError } from '../../../core/errors.js'
import type { MeterInfo, MeterPreflight, PowerMeter } from '../../../core/ports.js'
import type { PowerSample } from '../../../core/records.js'
import { J_PER_WH } from '../../../core/units.js'
import { PollLoop } from '../remote/poll-loop.js'
import type { RemoteMeterDeps, RemoteMeterHealth } from '../remote/remote-meter.js'
import { redact, requireEnvSecret } from '../remote/secrets.js'
import { numeric, SnmpGetter, type SnmpSecrets, type SnmpValue } from './snmp-session.js'
import { planChannels, scaled, SYS_DESCR_OID, vendorResolutionW, withDigits, type SnmpChannelPlan, type SnmpWhat } from './vendors.js'

const VENDOR_NAMES = { apc: 'APC rPDU2', raritan: 'Raritan PDU2', servertech: 'ServerTech Sentry4', eaton: 'Eaton ePDU' } as const
/** Eaton inputPowerMeasType: the row that is the total of the phases (never added to them). */
const EATON_MEAS_TOTAL = 4

/**
 * Power (and energy meters) of a metered PDU over SNMP: APC, Raritan, ServerTech and Eaton, each at
 * its own OIDs with its own scaling (vendors.ts). One GET per poll reads every chosen inlet, phase or
 * outlet. A PDU's meters refresh every 1–3 s internally, so polling faster than 1 Hz only re-reads
 * cached values; Raritan's per-reading timestamps let those repeats be dropped.
 *
 * @example
 * const meter = new SnmpPowerMeter(SnmpMeterSchema.parse({ kind: 'snmp', vendor: 'raritan', host: 'pdu-a',
 *   outlets: [3, 4] }), { clock, env: process.env })
 * await meter.preflight() // "Raritan PDU2 pdu-a:161 outlets 3, 4: 412 W, 388 W; energy 1 Wh steps"
 */
export class SnmpPowerMeter implements PowerMeter {
  private readonly what: SnmpWhat
  private readonly unit: number
  private readonly label: string
  private getter: SnmpGetter | undefined
  private plans: SnmpChannelPlan[] = []
  private hasCounter = false
  private loop: PollLoop | undefined
  private onSample: ((s: PowerSample) => void) | undefined
  private readonly lastTime = new Map<string, { timeMs: number; powerW: number | null; energyJ: number | null }>()
  private failedReads = 0
  private lastError: string | null = null
  private secrets: SnmpSecrets | undefined

  constructor(
    private readonly options: SnmpPduOptions,
    private readonly deps: RemoteMeterDeps,
  ) {
    this.what = options.what ?? (options.outlets ? 'outlets' : options.phases ? 'phases' : 'inlet')
    this.unit = options.unit ?? (options.vendor === 'eaton' ? 0 : 1)
    this.label = `SNMP ${VENDOR_NAMES[options.vendor]} ${options.host}:${options.port}`
  }

  get info(): MeterInfo {
    const o = this.options
    const energyScales = this.plans.map((p) => p.energyScaleJ).filter((x): x is number => x !== undefined)
    const moduli = Object.fromEntries(
      this.plans.filter((p) => p.energyModulusRaw !== null && p.energyScaleJ !== undefined).map((p) => [p.channel, (p.energyModulusRaw as number) * (p.energyScaleJ as number)]),
    )
    return {
      id: this.deps.id ?? o.id ?? `snmp@${o.host}`,
      kind: 'snmp',
      boundary: o.boundary ?? (this.what === 'outlets' ? 'node' : 'rack'),
      hasCounter: this.hasCounter,
      periodMs: o.periodMs,
      // PDUs report an RMS average over whole line cycles, refreshed every 1–3 s (research §7.6).
      averagingWindowMs: 0,
      accuracyRel: o.accuracyRel ?? 0.01,
      accuracyW: o.accuracyW ?? 0,
      resolutionW: Math.max(vendorResolutionW(o.vendor, this.what), ...this.plans.map((p) => p.powerScaleW)),
      ...(energyScales.length > 0 ? { resolutionJ: Math.max(...energyScales) } : {}),
      ...(Object.keys(moduli).length > 0 ? { counterModulusJ: moduli } : {}),
      estimated: false,
      description: `${this.label} ${this.what}${this.plans.length > 0 ? ` (${this.plans.map((p) => p.channel).join(', ')})` : ''}`,
      ...(o.group !== undefined ? { group: o.group } : {}),
      ...(o.component !== undefined ? { component: o.component } : {}),
    }
  }

  health(): RemoteMeterHealth {
    return { polls: this.loop?.polls ?? 0, failedReads: this.failedReads, skippedSlots: this.loop?.skippedSlots ?? 0, lastError: this.lastError }
  }

  async preflight(): Promise<MeterPreflight> {
    this.getter?.close()
    const o = this.options
    const secrets = this.readSecrets()
    this.secrets = secrets
    const getter = new SnmpGetter(o, secrets)
    this.getter = getter
    try {
      let plans = planChannels({ vendor: o.vendor, what: this.what, unit: this.unit, inlet: o.inlet, outlets: o.outlets ?? [], phases: o.phases ?? [] })
      const extra: string[] = [SYS_DESCR_OID]
      for (const p of plans) for (const oid of [p.powerDigitsOid, p.energyDigitsOid]) if (oid !== undefined) extra.push(oid)
      const eatonPhases = o.vendor === 'eaton' && this.what === 'phases'
      const measTypeOid = (p: number): string => `1.3.6.1.4.1.534.6.6.7.3.4.1.2.${this.unit}.${o.inlet}.${p}`
      if (eatonPhases) for (const p of o.phases ?? []) extra.push(measTypeOid(p))
      const meta = await getter.get(extra)
      if (eatonPhases) {
        const totals = (o.phases ?? []).filter((p) => numeric(meta.get(measTypeOid(p))) === EATON_MEAS_TOTAL)
        if (totals.length > 0) {
          throw new MeterUnavailableError(`${this.label}: input power row ${totals.join(', ')} is the total of the phases; adding it to them would count twice`, {
            hint: 'list only the phase rows in phases:, or read what: inlet',
          })
        }
      }
      plans = plans.map((p) => withDigits(p, p.powerDigitsOid ? numeric(meta.get(p.powerDigitsOid)) : null, p.energyDigitsOid ? numeric(meta.get(p.energyDigitsOid)) : null))
      const first = await getter.get(pollOids(plans))
      const missing = plans.filter((p) => scaled(numeric(first.get(p.powerOid)), 1) === null)
      if (missing.length > 0) {
        throw new MeterUnavailableError(
          `${this.label}: no power reading at ${missing.map((p) => `${p.channel} (${p.powerOid})`).join(', ')}`,
          { hint: `is this a ${VENDOR_NAMES[o.vendor]} PDU with ${this.what} metering, and are unit ${this.unit} / inlet ${o.inlet}${o.outlets ? ` / outlets ${o.outlets.join(', ')}` : ''} right? A value of -1 means the model does not meter it` },
        )
      }
      this.plans = plans
      const withEnergy = plans.filter((p) => p.energyOid !== undefined && scaled(numeric(first.get(p.energyOid)), 1) !== null)
      const allEnergy = withEnergy.length === plans.length
      const fine = plans.every((p) => (p.energyScaleJ ?? Infinity) <= J_PER_WH)
      // The meter is a counter where its step is 1 Wh or finer; APC's and ServerTech cords' 0.1 kWh
      // steps are 72 s apart at 5 kW, so over a benchmark window power is integrated instead.
      this.hasCounter = o.energy === 'power' ? false : allEnergy && (o.energy === 'counter' || fine)
      const sysDescr = meta.get(SYS_DESCR_OID)
      const readings = plans.map((p) => `${p.channel} ${fmt(scaled(numeric(first.get(p.powerOid)), p.powerScaleW))} W`).join(', ')
      const energyNote = !allEnergy
        ? 'no energy meter: power integrated'
        : this.hasCounter
          ? `energy meter as counter (${(Math.max(...plans.map((p) => p.energyScaleJ ?? 0)) / J_PER_WH).toPrecision(2)} Wh steps)`
          : `energy meter too coarse (${(Math.max(...plans.map((p) => p.energyScaleJ ?? 0)) / J_PER_WH).toFixed(0)} Wh steps): power integrated`
      return {
        ok: true,
        channels: plans.map((p) => p.channel),
        message: [`${this.label} ${this.what}: ${readings}; ${energyNote}`, ...(typeof sysDescr === 'string' && sysDescr !== '' ? [`agent: ${sysDescr.slice(0, 120)}`] : [])].join('\n'),
      }
    } catch (err) {
      getter.close()
      this.getter = undefined
      throw this.explain(err)
    }
  }

  async start(onSample: (sample: PowerSample) => void): Promise<void> {
    if (this.getter === undefined) await this.preflight()
    this.onSample = onSample
    this.loop = new PollLoop(this.deps.clock, this.options.periodMs, () => this.pollOnce())
    this.loop.start()
  }

  async stop(): Promise<void> {
    await this.loop?.stop()
    this.onSample = undefined
    this.getter?.close()
    this.getter = undefined
  }

  private readSecrets(): SnmpSecrets {
    const o = this.options
    if (o.version === '3' && o.v3 !== undefined) {
      const needsAuth = o.v3.level !== 'noAuthNoPriv'
      const needsPriv = o.v3.level === 'authPriv'
      return {
        community: '',
        ...(needsAuth ? { authKey: requireEnvSecret(this.deps.env, o.v3.authKeyEnv, 'the SNMPv3 auth key', this.label) } : {}),
        ...(needsPriv ? { privKey: requireEnvSecret(this.deps.env, o.v3.privKeyEnv, 'the SNMPv3 privacy key', this.label) } : {}),
      }
    }
    // A read-only community is rarely secret, so `public` is the default when the variable is unset.
    return { community: this.deps.env[o.communityEnv] || 'public' }
  }

  private async pollOnce(): Promise<void> {
    const getter = this.getter
    if (getter === undefined) return
    const clock = this.deps.clock
    const sentAtNs = clock.nowNs()
    let values: Map<string, SnmpValue>
    try {
      values = await getter.get(pollOids(this.plans))
    } catch (err) {
      this.failedReads++
      this.lastError = redact(err instanceof Error ? err.message : String(err), [this.secrets?.community, this.secrets?.authKey, this.secrets?.privKey])
      return
    }
    const atNs = (sentAtNs + clock.nowNs()) / 2
    const meterId = this.info.id
    for (const p of this.plans) {
      const powerW = scaled(numeric(values.get(p.powerOid)), p.powerScaleW)
      const energyJ = p.energyOid !== undefined && p.energyScaleJ !== undefined ? scaled(numeric(values.get(p.energyOid)), p.energyScaleJ) : null
      if (powerW === null && energyJ === null) {
        this.failedReads++
        this.lastError = `${p.channel}: no value`
        continue
      }
      const timeS = p.powerTimeOid !== undefined ? numeric(values.get(p.powerTimeOid)) : null
      const sourceTimeMs = timeS !== null && timeS > 0 ? timeS * 1000 : null
      if (sourceTimeMs !== null) {
        // The agent's cached reading, read again: not a new measurement.
        const prev = this.lastTime.get(p.channel)
        if (prev !== undefined && prev.timeMs === sourceTimeMs && prev.powerW === powerW && prev.energyJ === energyJ) continue
        this.lastTime.set(p.channel, { timeMs: sourceTimeMs, powerW, energyJ })
      }
      this.onSample?.({ meterId, channel: p.channel, atNs, sourceTimeMs, powerW, energyJ })
    }
  }

  private explain(err: unknown): MeterUnavailableError {
    if (err instanceof MeterUnavailableError) return err
    const o = this.options
    const name = err instanceof Error ? err.name : ''
    const msg = redact(err instanceof Error ? err.message : String(err), [this.secrets?.community, this.secrets?.authKey, this.secrets?.privKey])
    if (name === 'RequestTimedOutError') {
      return new MeterUnavailableError(`${this.label}: no answer within ${o.timeoutMs} ms (${o.retries} retr${o.retries === 1 ? 'y' : 'ies'})`, {
        hint:
          o.version === '3'
            ? `check host and port, that SNMPv3 is enabled on the PDU, the v3 user and protocols, and the keys in ${o.v3?.authKeyEnv ?? ''} / ${o.v3?.privKeyEnv ?? ''} (many agents drop a request with a wrong key without answering)`
            : `check host and port, that SNMP is enabled on the PDU, and the community in ${o.communityEnv} (agents silently drop a wrong community)`,
        cause: err,
      })
    }
    if (/auth|digest|decrypt|usm|unknown user/i.test(msg)) {
      return new MeterUnavailableError(`${this.label}: the SNMPv3 credentials were rejected (${msg})`, {
        hint: `check the v3 user name, protocols and the keys in ${o.v3?.authKeyEnv ?? 'the auth key variable'} / ${o.v3?.privKeyEnv ?? 'the privacy key variable'}`,
        cause: err,
      })
    }
    return new MeterUnavailableError(`${this.label}: ${msg}`, { hint: 'check the address, port and SNMP version of the PDU', cause: err })
  }
}

/** Every OID a poll reads: power, energy and (Raritan) the reading's timestamp. */
function pollOids(plans: readonly SnmpChannelPlan[]): string[] {
  const oids: string[] = []
  for (const p of plans) {
    oids.push(p.powerOid)
    if (p.energyOid !== undefined) oids.push(p.energyOid)
    if (p.powerTimeOid !== undefined) oids.push(p.powerTimeOid)
  }
  return oids
}

function fmt(w: number | null): string {
  return w === null ? '—' : Number.isInteger(w) ? String(w) : w.toFixed(1)
}
