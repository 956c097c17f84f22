import type { RedfishServiceOptions } from '../../../core/config/meters-remote-schema.js'
import { MeterUnavailableError } from '../../../core/errors.js'
import type { Clock, MeterInfo, MeterPreflight, PowerMeter } from '../../../core/ports.js'
import type { PowerSample } from '../../../core/records.js'
import { ClockOffsetEstimator, describeClockOffset, type ClockOffset } from '../remote/clock-offset.js'
import { colons, errorCode, findPinError, isTlsTrustFailure, peekCertificate } from '../remote/http-target.js'
import { PollLoop } from '../remote/poll-loop.js'
import type { RemoteMeterDeps, RemoteMeterHealth } from '../remote/remote-meter.js'
import { redact, requireEnvSecret } from '../remote/secrets.js'
import { discoverRedfish, type RedfishChannelPlan, type RedfishPlan } from './discover.js'
import { RedfishClient, RedfishHttpError } from './redfish-client.js'
import { mergeReadings, type RedfishReading } from './readings.js'

/**
 * When on our timeline a reading was taken. Without a `ReadingTime`, the middle of the request. With
 * one, the reading's time mapped through the offset bounds (widened by a second when `ReadingTime`
 * has whole seconds only) gives an interval it must lie in, cut at the response's arrival; the point
 * of that interval nearest the request's middle is used. So a fresh reading stays at the request,
 * and a stale one (a BMC that refreshes its sensor every few seconds) moves back to when it was taken.
 */
export function placeReading(
  r: { readonly readingTimeMs: number | null; readonly readingTimePrecise: boolean },
  sentAtNs: number,
  recvAtNs: number,
  offset: { readonly lowMs: number; readonly highMs: number } | null,
  clock: Clock,
): number {
  const midNs = (sentAtNs + recvAtNs) / 2
  if (r.readingTimeMs === null || offset === null || !Number.isFinite(offset.lowMs) || !Number.isFinite(offset.highMs)) return midNs
  const toNs = (wallMs: number): number => clock.nowNs() - (clock.wallMs() - wallMs) * 1e6
  const earliest = toNs(r.readingTimeMs - offset.highMs)
  const latest = Math.min(recvAtNs, toNs(r.readingTimeMs + (r.readingTimePrecise ? 1 : 1000) - offset.lowMs))
  if (latest < earliest) return midNs
  return Math.min(latest, Math.max(earliest, midNs))
}

/**
 * Power of a server (BMC) or PDU over DMTF Redfish. Discovery picks the best resource the service
 * has (see discover.ts), polling reads just those resources at `periodMs`. Readings keep the
 * service's `ReadingTime` as `sourceTimeMs`; the BMC clock's offset from ours comes from the `Date`
 * header of every response and is reported by {@link clockOffset}.
 *
 * @example
 * const meter = new RedfishPowerMeter(RedfishMeterSchema.parse({ kind: 'redfish', url: 'https://10.0.0.5',
 *   user: 'root', tls: { fingerprint256: '9F86...' } }), { clock, env: process.env })
 * await meter.preflight()   // throws MeterUnavailableError with a hint: 401, untrusted certificate, no power resource
 * await meter.start((s) => samples.push(s))
 */
export class RedfishPowerMeter implements PowerMeter {
  private readonly baseUrl: URL
  private readonly label: string
  private client: RedfishClient | undefined
  private plan: RedfishPlan | undefined
  private hasCounter = false
  private loop: PollLoop | undefined
  private onSample: ((s: PowerSample) => void) | undefined
  private readonly last = new Map<string, RedfishReading>()
  private pausedUntilNs = 0
  private failedReads = 0
  private lastError: string | null = null
  private password: string | undefined
  private readonly offset = new ClockOffsetEstimator('http-date')

  constructor(
    private readonly options: RedfishServiceOptions,
    private readonly deps: RemoteMeterDeps,
  ) {
    this.baseUrl = new URL(options.url)
    this.label = `Redfish ${this.baseUrl.host}`
  }

  get info(): MeterInfo {
    const pdu = this.plan?.channels[0]?.shape === 'rack-pdu'
    const sensing = Math.max(0, ...(this.plan?.channels ?? []).map((c) => c.sensingIntervalMs ?? 0))
    const shapes = [...new Set((this.plan?.channels ?? []).map((c) => c.shape))].join(' + ')
    const offset = this.clockOffset()
    return {
      id: this.deps.id ?? this.options.id ?? `redfish@${this.baseUrl.host}`,
      kind: 'redfish',
      boundary: this.options.boundary ?? this.plan?.boundary ?? 'node',
      hasCounter: this.hasCounter,
      periodMs: this.options.periodMs,
      averagingWindowMs: sensing,
      // Metering-grade PDUs state ±1 %; BMC/PSU input sensors are assumed ±5 % unless configured.
      accuracyRel: this.options.accuracyRel ?? (pdu ? 0.01 : 0.05),
      accuracyW: this.options.accuracyW ?? 0.5,
      estimated: false,
      description: this.plan ? `${this.label}: ${shapes || 'no reading'} (${this.plan.channels.length} channel${this.plan.channels.length === 1 ? '' : 's'})` : this.label,
      ...(this.options.group !== undefined ? { group: this.options.group } : {}),
      ...(this.options.component !== undefined ? { component: this.options.component } : {}),
      ...(offset !== null ? { clockOffset: { offsetMs: offset.offsetMs, uncertaintyMs: offset.uncertaintyMs, source: offset.source } } : {}),
    }
  }

  /** Remote minus local clock, from the responses' `Date` headers; null before the first response. */
  clockOffset(): ClockOffset | null {
    return this.offset.current()
  }

  health(): RemoteMeterHealth {
    return { polls: this.loop?.polls ?? 0, failedReads: this.failedReads, skippedSlots: this.loop?.skippedSlots ?? 0, lastError: this.lastError }
  }

  async preflight(): Promise<MeterPreflight> {
    await this.client?.close()
    const o = this.options
    let user: string | undefined
    if (o.auth !== 'none') {
      user = o.user ?? this.deps.env[o.userEnv]
      if (user === undefined || user === '') {
        throw new MeterUnavailableError(`${this.label}: no user name`, { hint: `set user: in the meter's config or export ${o.userEnv}=...` })
      }
      this.password = requireEnvSecret(this.deps.env, o.passwordEnv, 'the Redfish password', this.label)
    }
    const client = new RedfishClient({ baseUrl: this.baseUrl, tls: o.tls, auth: o.auth, user, password: this.password, timeoutMs: o.timeoutMs, clock: this.deps.clock, offset: this.offset })
    this.client = client
    try {
      const root = (await client.getAnonymous('/redfish/v1/')).body
      client.useServiceRoot(root)
      const plan = await discoverRedfish(client, root, o)
      if (plan.channels.length === 0) {
        throw new MeterUnavailableError(`${this.label}: no power reading found (${plan.notes.join('; ') || 'nothing matched'})`, {
          hint: 'set source: (environment-metrics, sensors, power-subsystem, power, rack-pdu) or chassis: / pdu: / outlets: in the meter config',
        })
      }
      const first = await Promise.all(plan.channels.map((c) => this.readChannel(client, c)))
      this.plan = plan
      // A counter only where it beats integrating power: J / Wh sensors. Whole-kWh meters (most PDUs)
      // would turn a few minutes' window into 0 or 1 steps; `energy: counter` takes them anyway.
      this.hasCounter =
        o.energy === 'power'
          ? false
          : first.every((r) => r.reading.energyJ !== null && (o.energy === 'counter' || r.reading.energyUnit === 'J' || r.reading.energyUnit === 'Wh'))
      const coarse = o.energy === 'auto' && !this.hasCounter && first.some((r) => r.reading.energyUnit === 'kWh')
      if (coarse) plan.notes.push('the energy meter counts kWh, too coarse for a benchmark window: power is integrated (energy: counter uses it anyway)')
      const tlsNote = this.baseUrl.protocol === 'http:' ? '; plain HTTP: credentials travel unencrypted' : o.tls.insecure ? '; TLS verification OFF for this target' : ''
      return {
        ok: true,
        channels: plan.channels.map((c) => c.channel),
        message: [
          `${this.info.description}: ${first.map((r, i) => `${plan.channels[i]?.channel} ${fmtReading(r.reading)}`).join(', ')}`,
          `${this.hasCounter ? 'energy counter' : 'power integrated'}; ${describeClockOffset(this.offset.current())}${tlsNote}`,
          ...plan.notes,
        ].join('\n'),
      }
    } catch (err) {
      await client.close()
      this.client = undefined
      throw await this.explain(err)
    }
  }

  async start(onSample: (sample: PowerSample) => void): Promise<void> {
    if (this.plan === undefined || this.client === undefined) await this.preflight()
    this.onSample = onSample
    this.loop = new PollLoop(this.deps.clock, this.options.periodMs, () => this.pollOnce())
    this.loop.start()
  }

  async stop(): Promise<void> {
    await this.loop?.stop()
    this.onSample = undefined
    await this.client?.close()
    this.client = undefined
  }

  private async pollOnce(): Promise<void> {
    const client = this.client
    const plan = this.plan
    if (client === undefined || plan === undefined) return
    if (this.deps.clock.nowNs() < this.pausedUntilNs) return
    await Promise.all(
      plan.channels.map(async (c) => {
        try {
          const { reading, sentAtNs, recvAtNs } = await this.readChannel(client, c)
          this.emit(c.channel, reading, sentAtNs, recvAtNs)
        } catch (err) {
          this.failedReads++
          this.lastError = redact(err instanceof Error ? err.message : String(err), [this.password])
          if (err instanceof RedfishHttpError && err.retryAfterMs !== null) this.pausedUntilNs = this.deps.clock.nowNs() + err.retryAfterMs * 1e6
        }
      }),
    )
  }

  private async readChannel(client: RedfishClient, c: RedfishChannelPlan): Promise<{ reading: RedfishReading; sentAtNs: number; recvAtNs: number }> {
    const [main, energy] = await Promise.all([client.get(c.uri), c.energyUri !== undefined ? client.get(c.energyUri) : undefined])
    const reading = mergeReadings(c.read(main.body), energy !== undefined && c.readEnergy ? c.readEnergy(energy.body) : undefined)
    return { reading, sentAtNs: main.res.sentAtNs, recvAtNs: Math.max(main.res.recvAtNs, energy?.res.recvAtNs ?? 0) }
  }

  private emit(channel: string, r: RedfishReading, sentAtNs: number, recvAtNs: number): void {
    if (r.powerW === null && r.energyJ === null) {
      this.failedReads++
      this.lastError = `${channel}: the reading was null`
      return
    }
    // A sensor the BMC refreshes slower than we poll returns the same reading with the same time:
    // emitting it again would pretend to a fresh measurement.
    const prev = this.last.get(channel)
    if (prev !== undefined && r.readingTimeMs !== null && prev.readingTimeMs === r.readingTimeMs && prev.powerW === r.powerW && prev.energyJ === r.energyJ) return
    this.last.set(channel, r)
    const atNs = placeReading(r, sentAtNs, recvAtNs, this.offset.bounds(), this.deps.clock)
    this.onSample?.({ meterId: this.info.id, channel, atNs, sourceTimeMs: r.readingTimeMs, powerW: r.powerW, energyJ: r.energyJ })
  }

  /** Turns a failure into a one-line error with a hint a person can act on. */
  private async explain(err: unknown): Promise<MeterUnavailableError> {
    if (err instanceof MeterUnavailableError) return err
    const o = this.options
    const pin = findPinError(err)
    if (pin !== undefined) {
      return new MeterUnavailableError(`${this.label}: refused the connection: ${pin.message}`, {
        hint: 'if the certificate was replaced on purpose, check the new one out of band and update tls.fingerprint256',
        cause: err,
      })
    }
    if (isTlsTrustFailure(err)) {
      const cert = await peekCertificate(this.baseUrl, o.tls.servername, o.timeoutMs)
      const seen = cert !== null ? ` The server presented CN/subject "${cert.subject}", SHA-256 ${colons(cert.fingerprint256)}.` : ''
      return new MeterUnavailableError(`${this.label}: its TLS certificate is not trusted (${errorCode(err)}).${seen}`, {
        hint: `BMCs usually have self-signed certificates. Compare the fingerprint with the BMC's own page, then pin it: tls: { fingerprint256: "${cert !== null ? colons(cert.fingerprint256) : '<sha256>'}" } (or tls.caFile: the CA's PEM)`,
        cause: err,
      })
    }
    if (err instanceof RedfishHttpError) {
      if (err.status === 401 || err.status === 403) {
        return new MeterUnavailableError(`${this.label}: the credentials were rejected (${err.message})`, {
          hint: `check the user name and the password in ${o.passwordEnv}${o.auth === 'session' ? '; if the BMC allows few sessions, close stale ones or try auth: basic' : ''}`,
          cause: err,
        })
      }
      return new MeterUnavailableError(`${this.label}: ${redact(err.message, [this.password])}`, { hint: 'is this a Redfish service? The service root is /redfish/v1/', cause: err })
    }
    const code = errorCode(err)
    const msg = redact(err instanceof Error ? err.message : String(err), [this.password])
    return new MeterUnavailableError(`${this.label}: cannot be reached (${code ?? msg})`, {
      hint: 'check the address and port, and that this machine can reach the BMC network',
      cause: err,
    })
  }
}

function fmtReading(r: RedfishReading): string {
  const parts = [r.powerW !== null ? `${r.powerW} W` : null, r.energyJ !== null ? `${r.energyJ} J` : null].filter((x) => x !== null)
  return parts.join(' / ') || 'no value'
}
