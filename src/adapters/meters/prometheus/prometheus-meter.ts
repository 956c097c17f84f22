import type { PrometheusMeterOptions } from '../../../core/config/meters-remote-schema.js'
import { MeterUnavailableError } from '../../../core/errors.js'
import type { MeterInfo, MeterPreflight, PowerMeter } from '../../../core/ports.js'
import type { PowerSample } from '../../../core/records.js'
import { ClockOffsetEstimator, describeClockOffset, type ClockOffset } from '../remote/clock-offset.js'
import { colons, errorCode, findPinError, isTlsTrustFailure, peekCertificate } from '../remote/http-target.js'
import { PollLoop } from '../remote/poll-loop.js'
import type { RemoteMeterDeps, RemoteMeterHealth } from '../remote/remote-meter.js'
import { redact, requireEnvSecret } from '../remote/secrets.js'
import { PrometheusApi, PrometheusApiError, type RawSeries } from './prometheus-api.js'
import { assignChannels, isBareSelector, isReading, resolveQueries, seriesKey, type ResolvedQueries } from './presets.js'

/** How far back the first fetch reaches, so the samples bracket the moment sampling started (ms). */
const PRE_ROLL_MS = 60_000

type Kind = 'power' | 'energy'

/**
 * Power and energy from a Prometheus server: dcgm-exporter, Kepler, Scaphandre or any query with a
 * unit. For a plain selector the meter fetches the **raw scrape samples** (`metric[Δ]`) with their
 * own timestamps, so nothing is averaged or extrapolated by PromQL; counter resets (driver reload,
 * exporter restart) are left to the energy core, which sees every raw value. Other expressions are
 * evaluated every `periodMs` with `query_range`. Sample times are the Prometheus server's, mapped
 * onto our timeline through the offset measured from instant queries' evaluation times.
 *
 * At `stop()` it waits (up to `settleMaxMs`) for the first scrape after the stop, so the window's
 * end is bracketed by a real sample.
 *
 * @example
 * const meter = new PrometheusPowerMeter(PrometheusMeterSchema.parse({ kind: 'prometheus',
 *   url: 'http://prometheus:9090', preset: 'dcgm', selector: '{Hostname="gpu-node-01"}' }), { clock, env })
 * await meter.preflight() // channels: the GPUs' UUIDs
 */
export class PrometheusPowerMeter implements PowerMeter {
  private readonly baseUrl: URL
  private readonly label: string
  private readonly q: ResolvedQueries
  private queries: { power: string | null; energy: string | null }
  private api: PrometheusApi | undefined
  private readonly offset = new ClockOffsetEstimator('prometheus-eval')
  private channels = new Map<string, string>()
  private hasCounter = false
  private loop: PollLoop | undefined
  private onSample: ((s: PowerSample) => void) | undefined
  /** Server time (ms) up to which samples have been fetched. */
  private fetchedUntilMs = 0
  private readonly lastTs = new Map<string, number>()
  private readonly lastValue = new Map<string, number>()
  private readonly spacingsMs: number[] = []
  private failedReads = 0
  private staleRepeats = 0
  private lastError: string | null = null
  private secret: string | undefined

  constructor(
    private readonly options: PrometheusMeterOptions,
    private readonly deps: RemoteMeterDeps,
  ) {
    this.baseUrl = new URL(options.url)
    this.q = resolveQueries(options)
    this.queries = { power: this.q.power?.query ?? null, energy: this.q.energy?.query ?? null }
    this.label = `Prometheus ${this.baseUrl.host}`
  }

  get info(): MeterInfo {
    const o = this.options
    const offset = this.offset.current()
    const component = o.component ?? this.q.component
    return {
      id: this.deps.id ?? o.id ?? `prometheus@${this.baseUrl.host}`,
      kind: 'prometheus',
      boundary: o.boundary ?? this.q.boundary,
      hasCounter: this.hasCounter,
      periodMs: this.scrapeIntervalMs() ?? o.periodMs,
      averagingWindowMs: this.q.averagingWindowMs,
      accuracyRel: o.accuracyRel ?? this.q.accuracyRel,
      accuracyW: o.accuracyW ?? this.q.accuracyW,
      estimated: false,
      description: `${this.label}: ${this.q.description} (${[this.queries.energy, this.queries.power].filter((x) => x !== null).join(' + ')})`,
      ...(o.group !== undefined ? { group: o.group } : {}),
      ...(component !== undefined ? { component } : {}),
      ...(offset !== null ? { clockOffset: { offsetMs: offset.offsetMs, uncertaintyMs: offset.uncertaintyMs, source: offset.source } } : {}),
    }
  }

  clockOffset(): ClockOffset | null {
    return this.offset.current()
  }

  health(): RemoteMeterHealth & { readonly staleRepeats: number } {
    return { polls: this.loop?.polls ?? 0, failedReads: this.failedReads, skippedSlots: this.loop?.skippedSlots ?? 0, lastError: this.lastError, staleRepeats: this.staleRepeats }
  }

  async preflight(): Promise<MeterPreflight> {
    await this.api?.close()
    const api = new PrometheusApi({ baseUrl: this.baseUrl, tls: this.options.tls, timeoutMs: this.options.timeoutMs, clock: this.deps.clock, offset: this.offset, authorization: this.authorization() })
    this.api = api
    try {
      await api.instant('time()')
      let power = this.queries.power !== null ? await present(api, this.queries.power) : []
      let energy = this.queries.energy !== null ? await present(api, this.queries.energy) : []
      const notes: string[] = []
      if (power.length === 0 && energy.length === 0 && this.q.fallback !== null) {
        const fb = this.q.fallback
        const fbPower = fb.power !== null ? await present(api, fb.power) : []
        const fbEnergy = fb.energy !== null ? await present(api, fb.energy) : []
        if (fbPower.length > 0 || fbEnergy.length > 0) {
          this.queries = { power: fbPower.length > 0 ? fb.power : null, energy: fbEnergy.length > 0 ? fb.energy : null }
          power = fbPower
          energy = fbEnergy
          notes.push(`using the older metric names (${[fb.energy, fb.power].filter((x) => x !== null).join(', ')})`)
        }
      }
      if (power.length === 0 && energy.length === 0) throw await this.noSeries(api)
      for (const [kind, q] of [['power', this.queries.power], ['energy', this.queries.energy]] as const)
        if (q !== null && !isBareSelector(q)) notes.push(`${kind}: "${q}" is an expression, evaluated every ${this.options.periodMs} ms (not raw samples)`)
      this.channels = assignChannels([...power, ...energy].map((s) => s.labels), this.q.channelOf)
      this.hasCounter = this.options.use !== 'power' && energy.length > 0
      if (this.options.use === 'counter' && energy.length === 0) {
        throw new MeterUnavailableError(`${this.label}: use: counter, but ${this.queries.energy ?? 'no energy query'} returned no series`, { hint: 'set use: auto to integrate power instead' })
      }
      const current = (list: RawSeries[], scale: number, unit: string): string =>
        list.map((s) => `${this.channels.get(seriesKey(s.labels))} ${fmt((s.samples[0]?.[1] ?? Number.NaN) * scale)} ${unit}`).join(', ')
      return {
        ok: true,
        channels: [...new Set(this.channels.values())].sort(),
        message: [
          `${this.info.description}: ${power.length > 0 ? current(power, this.q.power?.scaleW ?? 1, 'W') : current(energy, this.q.energy?.scaleJ ?? 1, 'J')}`,
          `${this.hasCounter ? 'energy counter (raw samples, resets handled in analysis)' : 'power integrated'}; ${describeClockOffset(this.offset.current())}`,
          ...notes,
        ].join('\n'),
      }
    } catch (err) {
      await api.close()
      this.api = undefined
      throw await this.explain(err)
    }
  }

  async start(onSample: (sample: PowerSample) => void): Promise<void> {
    if (this.api === undefined) await this.preflight()
    this.onSample = onSample
    this.fetchedUntilMs = this.remoteNowMs() - PRE_ROLL_MS
    this.loop = new PollLoop(this.deps.clock, this.options.periodMs, () => this.pollOnce())
    this.loop.start()
  }

  async stop(): Promise<void> {
    await this.loop?.stop()
    // Wait for the scrape that follows the stop, so a real sample lies after the window's end.
    const stopRemoteMs = this.remoteNowMs()
    const deadlineNs = this.deps.clock.nowNs() + this.options.settleMaxMs * 1e6
    while (this.api !== undefined && this.deps.clock.nowNs() < deadlineNs && !this.coveredUntil(stopRemoteMs)) {
      const waitMs = Math.min(this.options.periodMs, Math.max(50, (this.scrapeIntervalMs() ?? 1000) / 2))
      await new Promise((r) => setTimeout(r, waitMs))
      await this.pollOnce()
    }
    await this.pollOnce(true)
    this.onSample = undefined
    await this.api?.close()
    this.api = undefined
  }

  /**
   * Readings of a span that is over (`tokenwatt import`): [fromWallMs, toWallMs] on the Prometheus
   * server's clock, plus a margin each side so a scrape brackets both edges. Bare selectors give the
   * raw scrape samples (`metric[range]` evaluated at the margin's end, nothing averaged or
   * extrapolated); other expressions are evaluated every `periodMs` with query_range. Series are found
   * in the span itself, not at "now", so an exporter gone since then still answers. Sample times are
   * the server's scrape times, placed at ns from `epochWallMs`; the host that ran the benchmark and
   * the Prometheus server are assumed to share a clock (NTP), as no offset can be measured afterwards.
   */
  async history(fromWallMs: number, toWallMs: number, epochWallMs: number): Promise<PowerSample[]> {
    const api = new PrometheusApi({ baseUrl: this.baseUrl, tls: this.options.tls, timeoutMs: this.options.timeoutMs, clock: this.deps.clock, offset: this.offset, authorization: this.authorization() })
    const marginMs = Math.max(2 * this.options.periodMs, 60_000)
    const endS = (toWallMs + marginMs) / 1000
    const rangeMs = Math.ceil(toWallMs - fromWallMs + 2 * marginMs)
    const fetchAll = async (queries: { power: string | null; energy: string | null }): Promise<{ kind: Kind; series: RawSeries[] }[]> => {
      const out: { kind: Kind; series: RawSeries[] }[] = []
      for (const kind of ['power', 'energy'] as const) {
        const q = queries[kind]
        if (q === null) continue
        const series = isBareSelector(q) ? await api.instant(`${q}[${rangeMs}ms]`, endS) : await api.range(q, (fromWallMs - marginMs) / 1000, endS, this.options.periodMs / 1000)
        out.push({ kind, series: series.filter((x) => x.samples.length > 0) })
      }
      return out
    }
    const empty = (f: { series: RawSeries[] }[]): boolean => f.every((x) => x.series.length === 0)
    try {
      let fetched = await fetchAll(this.queries)
      if (empty(fetched) && this.q.fallback !== null) {
        const fb = await fetchAll(this.q.fallback)
        if (!empty(fb)) {
          this.queries = { power: fb.some((x) => x.kind === 'power' && x.series.length > 0) ? this.q.fallback.power : null, energy: fb.some((x) => x.kind === 'energy' && x.series.length > 0) ? this.q.fallback.energy : null }
          fetched = fb
        }
      }
      if (empty(fetched)) {
        const e = await this.noSeries(api)
        throw new MeterUnavailableError(`${e.message} between ${new Date(fromWallMs).toISOString()} and ${new Date(toWallMs).toISOString()}`, e.hint !== undefined ? { hint: e.hint } : {})
      }
      this.channels = assignChannels(fetched.flatMap((f) => f.series.map((x) => x.labels)), this.q.channelOf)
      this.hasCounter = this.options.use !== 'power' && fetched.some((f) => f.kind === 'energy' && f.series.length > 0)
      const merged = new Map<string, { channel: string; tsMs: number; powerW: number | null; energyJ: number | null }>()
      for (const { kind, series } of fetched) {
        if (kind === 'energy' && !this.hasCounter) continue
        const scale = kind === 'power' ? (this.q.power?.scaleW ?? 1) : (this.q.energy?.scaleJ ?? 1)
        for (const s of series) {
          const channel = this.channels.get(seriesKey(s.labels)) ?? this.q.channelOf(s.labels)
          let lastValue: number | undefined
          for (const [tS, v] of s.samples) {
            if (!isReading(v)) continue
            // A counter served again unchanged (dcgm-exporter refreshes every 30 s) is not a new reading.
            if (kind === 'energy' && v === lastValue) {
              this.staleRepeats++
              continue
            }
            lastValue = v
            const tsMs = Math.round(tS * 1000)
            const mk = `${channel}|${tsMs}`
            const m = merged.get(mk) ?? { channel, tsMs, powerW: null, energyJ: null }
            if (kind === 'power') m.powerW = v * scale
            else m.energyJ = v * scale
            merged.set(mk, m)
          }
        }
      }
      const meterId = this.info.id
      return [...merged.values()].sort((a, b) => a.tsMs - b.tsMs).map((m) => ({ meterId, channel: m.channel, atNs: (m.tsMs - epochWallMs) * 1e6, sourceTimeMs: m.tsMs, powerW: m.powerW, energyJ: m.energyJ }))
    } catch (err) {
      throw await this.explain(err)
    } finally {
      await api.close()
    }
  }

  private authorization(): string | undefined {
    const o = this.options
    if (o.bearerTokenEnv !== undefined) {
      this.secret = requireEnvSecret(this.deps.env, o.bearerTokenEnv, 'the bearer token', this.label)
      return `Bearer ${this.secret}`
    }
    if (o.basicUser !== undefined && o.basicPasswordEnv !== undefined) {
      this.secret = requireEnvSecret(this.deps.env, o.basicPasswordEnv, 'the basic-auth password', this.label)
      return `Basic ${Buffer.from(`${o.basicUser}:${this.secret}`).toString('base64')}`
    }
    return undefined
  }

  /** The Prometheus server's clock now (ms), through the measured offset. */
  private remoteNowMs(): number {
    return this.deps.clock.wallMs() + (this.offset.current()?.offsetMs ?? 0)
  }

  /** Median spacing of the raw samples seen (the scrape interval), once there are some. */
  private scrapeIntervalMs(): number | null {
    if (this.spacingsMs.length < 3) return null
    const s = [...this.spacingsMs].sort((a, b) => a - b)
    return s[s.length >> 1] ?? null
  }

  private coveredUntil(remoteMs: number): boolean {
    if (this.lastTs.size === 0) return false
    for (const ts of this.lastTs.values()) if (ts < remoteMs) return false
    return true
  }

  /** `final`: emit everything fetched, including a newest scrape seen by only one of the queries. */
  private async pollOnce(final = false): Promise<void> {
    const api = this.api
    if (api === undefined) return
    try {
      await api.instant('time()')
      const nowMs = this.remoteNowMs()
      const fromMs = this.fetchedUntilMs
      const lookbackMs = Math.max(1, Math.ceil(nowMs - fromMs) + 1000)
      const fetched: { kind: Kind; series: RawSeries[] }[] = []
      for (const kind of ['power', 'energy'] as const) {
        const q = this.queries[kind]
        if (q === null) continue
        const series = isBareSelector(q)
          ? await api.instant(`${q}[${lookbackMs}ms]`)
          : await api.range(q, fromMs / 1000, nowMs / 1000, this.options.periodMs / 1000)
        fetched.push({ kind, series })
      }
      this.fetchedUntilMs = nowMs - 2 * this.options.periodMs
      this.emit(fetched, final)
    } catch (err) {
      this.failedReads++
      this.lastError = redact(err instanceof Error ? err.message : String(err), [this.secret])
    }
  }

  /**
   * New samples only, power and energy of one channel at one scrape merged into one sample. The power
   * and energy queries run one after the other, so a scrape landing between them is seen by the
   * second only: samples newer than the newest scrape every query saw wait for the next poll.
   */
  private emit(fetched: { kind: Kind; series: RawSeries[] }[], final: boolean): void {
    let cutoffMs = Infinity
    if (!final) {
      for (const { series } of fetched) {
        let newest = -Infinity
        for (const s of series) for (const [tS] of s.samples) newest = Math.max(newest, Math.round(tS * 1000))
        if (Number.isFinite(newest)) cutoffMs = Math.min(cutoffMs, newest)
      }
    }
    const merged = new Map<string, { channel: string; tsMs: number; powerW: number | null; energyJ: number | null }>()
    for (const { kind, series } of fetched) {
      const scale = kind === 'power' ? (this.q.power?.scaleW ?? 1) : (this.q.energy?.scaleJ ?? 1)
      for (const s of series) {
        const key = seriesKey(s.labels)
        let channel = this.channels.get(key)
        if (channel === undefined) {
          // A series that appeared after preflight (a restarted exporter with a new label value).
          channel = this.q.channelOf(s.labels)
          this.channels.set(key, channel)
        }
        const id = `${kind}|${key}`
        let last = this.lastTs.get(id) ?? -Infinity
        for (const [tS, v] of s.samples) {
          const tsMs = Math.round(tS * 1000)
          if (tsMs > cutoffMs) break
          if (tsMs <= last || !isReading(v)) continue
          if (Number.isFinite(last)) this.spacingsMs.push(tsMs - last)
          if (this.spacingsMs.length > 200) this.spacingsMs.shift()
          last = tsMs
          // An exporter that refreshes slower than the scrape (dcgm-exporter: 30 s by default) serves
          // the same counter value again: not a new measurement, and its time would be wrong.
          if (kind === 'energy' && this.lastValue.get(id) === v) {
            this.staleRepeats++
            continue
          }
          this.lastValue.set(id, v)
          const mk = `${channel}|${tsMs}`
          const m = merged.get(mk) ?? { channel, tsMs, powerW: null, energyJ: null }
          if (kind === 'power') m.powerW = v * scale
          else m.energyJ = v * scale
          merged.set(mk, m)
        }
        this.lastTs.set(id, last)
      }
    }
    const clock = this.deps.clock
    const offsetMs = this.offset.current()?.offsetMs ?? 0
    const meterId = this.info.id
    const nowNs = clock.nowNs()
    const nowWallMs = clock.wallMs()
    for (const m of [...merged.values()].sort((a, b) => a.tsMs - b.tsMs)) {
      const atNs = nowNs - (nowWallMs - (m.tsMs - offsetMs)) * 1e6
      this.onSample?.({ meterId, channel: m.channel, atNs, sourceTimeMs: m.tsMs, powerW: m.powerW, energyJ: m.energyJ })
    }
  }

  private async noSeries(api: PrometheusApi): Promise<MeterUnavailableError> {
    const wanted = [this.queries.energy, this.queries.power].filter((x) => x !== null).join(' and ')
    let known: string[] = []
    try {
      known = await api.metricNames()
    } catch {
      // the hint is best effort
    }
    const families = [
      ['dcgm', /^DCGM_FI_DEV_(POWER_USAGE|TOTAL_ENERGY)/],
      ['kepler', /^kepler_node_(cpu|package)_joules_total$/],
      ['kepler-gpu', /^kepler_node_gpu_joules_total$/],
      ['kepler-platform', /^kepler_platform_watts$/],
      ['scaphandre', /^scaph_host_(power|energy)_/],
    ] as const
    const presets = families.filter(([, re]) => known.some((n) => re.test(n))).map(([p]) => p)
    const powerish = known.filter((n) => /watt|joule|power|energy/i.test(n)).slice(0, 8)
    return new MeterUnavailableError(`${this.label}: ${wanted} returned no series`, {
      hint:
        presets.length > 0
          ? `this server has metrics for preset ${presets.join(' / ')}${this.options.selector ? `; or the selector ${this.options.selector} matches nothing` : ''}`
          : powerish.length > 0
            ? `power-like metrics here: ${powerish.join(', ')} — use preset: custom with power: {query, unit} or energy: {query, unit}`
            : 'is the exporter scraped by this Prometheus (check its targets page)?',
    })
  }

  private async explain(err: unknown): Promise<MeterUnavailableError> {
    if (err instanceof MeterUnavailableError) return err
    const pin = findPinError(err)
    if (pin !== undefined) return new MeterUnavailableError(`${this.label}: refused the connection: ${pin.message}`, { hint: 'check the certificate out of band and update tls.fingerprint256', cause: err })
    if (isTlsTrustFailure(err)) {
      const cert = await peekCertificate(this.baseUrl, this.options.tls.servername, this.options.timeoutMs)
      return new MeterUnavailableError(`${this.label}: its TLS certificate is not trusted (${errorCode(err)})`, {
        hint: `pin it with tls: { fingerprint256: "${cert !== null ? colons(cert.fingerprint256) : '<sha256>'}" } after checking it, or give tls.caFile`,
        cause: err,
      })
    }
    if (err instanceof PrometheusApiError) {
      const msg = redact(err.message, [this.secret])
      if (err.status === 401 || err.status === 403) {
        return new MeterUnavailableError(`${this.label}: the credentials were rejected (${msg})`, {
          hint: this.options.bearerTokenEnv ?? this.options.basicPasswordEnv ? `check the token/password in ${this.options.bearerTokenEnv ?? this.options.basicPasswordEnv}` : 'the server wants authentication: set bearerTokenEnv or basicUser + basicPasswordEnv',
          cause: err,
        })
      }
      return new MeterUnavailableError(`${this.label}: the query failed (${msg})`, { hint: 'check the PromQL in the meter config, and that the URL is the Prometheus server (not an exporter)', cause: err })
    }
    const code = errorCode(err)
    return new MeterUnavailableError(`${this.label}: cannot be reached (${code ?? redact(String(err), [this.secret])})`, { hint: 'check the URL and that this machine can reach the Prometheus server', cause: err })
  }
}

function fmt(x: number): string {
  return Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3)) : '—'
}

/** How far back a series' last scrape may lie for preflight to count it as present. */
const PRESENT_LOOKBACK_S = 120

/**
 * The series `q` has now, each with its latest sample. One failed scrape makes Prometheus write a
 * staleness marker for every series of that target, and an instant query then returns none of them
 * until the next good scrape (up to a scrape interval later); so when the instant query is empty, a
 * bare selector's raw samples of the last two minutes say whether the series exist.
 */
async function present(api: PrometheusApi, q: string): Promise<RawSeries[]> {
  const now = await api.instant(q)
  if (now.length > 0 || !isBareSelector(q)) return now
  const recent = await api.instant(`${q}[${PRESENT_LOOKBACK_S}s]`)
  return recent.flatMap((s) => {
    const last = s.samples[s.samples.length - 1]
    return last !== undefined ? [{ labels: s.labels, samples: [last] }] : []
  })
}
