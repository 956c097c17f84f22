import { Agent, request } from 'undici'
import type { MeterSpecOf } from '../../../core/config/meters-schema.js'
import { MeterUnavailableError } from '../../../core/errors.js'
import type { MeterInfo, MeterPreflight, PowerMeter } from '../../../core/ports.js'
import type { PowerSample } from '../../../core/records.js'
import type { MeterContext } from '../meter-context.js'
import { PollLoop } from '../remote/poll-loop.js'

interface MockReading {
  readonly timeMs: number
  readonly powerW: number
  readonly energyJ: number
}

/**
 * The mock engine's synthetic accelerator (`GET {url}/tokenwatt/power` →
 * `{"timeMs","powerW","energyJ"}`): power steps with the requests in flight and the energy counter is
 * its exact integral, so a whole run — meters, windows, attribution — can be checked against a known
 * answer without hardware. Reported at the device boundary as a measurement of that fake device.
 */
export class MockPowerMeter implements PowerMeter {
  private loop: PollLoop | null = null
  private dispatcher: Agent | null = null

  constructor(
    private readonly spec: MeterSpecOf<'mock'>,
    private readonly ctx: MeterContext,
  ) {}

  get info(): MeterInfo {
    return {
      id: this.ctx.id,
      kind: 'mock',
      boundary: this.spec.boundary,
      hasCounter: true,
      // an exact energy counter: 4 Hz is plenty, and an HTTP poll costs ~1 ms of CPU
      periodMs: this.spec.periodMs ?? 250,
      averagingWindowMs: 0,
      accuracyRel: this.spec.accuracyRel ?? 0,
      accuracyW: this.spec.accuracyW ?? 0,
      estimated: false,
      description: `mock engine power trace at ${this.url() ?? '(no url)'}`,
      ...(this.spec.component !== undefined ? { component: this.spec.component } : {}),
      ...(this.spec.group !== undefined ? { group: this.spec.group } : {}),
    }
  }

  private url(): string | null {
    const base = this.spec.url ?? this.ctx.mockBaseUrl
    if (base === undefined) return null
    return `${base.replace(/\/+$/, '').replace(/\/v1$/, '')}/tokenwatt/power${this.spec.pool !== undefined ? `?pool=${this.spec.pool}` : ''}`
  }

  private async read(): Promise<{ r: MockReading; atNs: number }> {
    const url = this.url()
    if (url === null) throw new Error('no url')
    this.dispatcher ??= new Agent({ connections: 1, keepAliveTimeout: 10_000 })
    const t0 = this.ctx.clock.nowNs()
    const res = await request(url, { dispatcher: this.dispatcher, headersTimeout: 2000, bodyTimeout: 2000 })
    const text = await res.body.text()
    const t1 = this.ctx.clock.nowNs()
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`)
    const j = JSON.parse(text) as Partial<MockReading>
    if (typeof j.powerW !== 'number' || typeof j.energyJ !== 'number' || typeof j.timeMs !== 'number') throw new Error('the answer has no numeric timeMs/powerW/energyJ')
    return { r: j as MockReading, atNs: (t0 + t1) / 2 }
  }

  async preflight(): Promise<MeterPreflight> {
    const url = this.url()
    if (url === null)
      throw new MeterUnavailableError('mock meter: no mock engine to read', { hint: 'use --meter mock:http://HOST:PORT, or run against the built-in mock engine' })
    try {
      const { r } = await this.read()
      return { ok: true, channels: ['mock-gpu'], message: `${url}: ${r.powerW.toFixed(1)} W now` }
    } catch (e) {
      throw new MeterUnavailableError(`mock meter: GET ${url} failed: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
        hint: 'is the mock engine running there? (`tokenwatt mock-server`)',
        cause: e,
      })
    }
  }

  async start(onSample: (sample: PowerSample) => void): Promise<void> {
    this.loop = new PollLoop(this.ctx.clock, this.info.periodMs, async () => {
      const { r, atNs } = await this.read()
      onSample({ meterId: this.ctx.id, channel: 'mock-gpu', atNs, sourceTimeMs: r.timeMs, powerW: r.powerW, energyJ: r.energyJ })
    })
    this.loop.start()
  }

  async stop(): Promise<void> {
    await this.loop?.stop()
    this.loop = null
    await this.dispatcher?.close()
    this.dispatcher = null
  }
}
