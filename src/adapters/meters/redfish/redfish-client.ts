import type { Agent } from 'undici'
import type { Clock } from '../../../core/ports.js'
import type { ClockOffsetEstimator } from '../remote/clock-offset.js'
import { createTargetDispatcher, header, timedRequest, type TargetTls, type TimedResponse } from '../remote/http-target.js'
import { asObject, link } from './readings.js'

/** A Redfish request that came back with an error status. */
export class RedfishHttpError extends Error {
  constructor(
    readonly status: number,
    readonly path: string,
    detail: string,
    /** From `Retry-After` on 503 (ms), when the service asked for a pause. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(`HTTP ${status} for ${path}${detail ? `: ${detail}` : ''}`)
    this.name = 'RedfishHttpError'
  }
}

export interface RedfishClientOptions {
  readonly baseUrl: URL
  readonly tls: TargetTls
  readonly auth: 'session' | 'basic' | 'none'
  readonly user: string | undefined
  readonly password: string | undefined
  readonly timeoutMs: number
  readonly clock: Clock
  /** Fed with every response's `Date` header; owned by the meter so it outlives a client. */
  readonly offset: ClockOffsetEstimator
}

export interface RedfishResponse {
  readonly res: TimedResponse
  readonly body: unknown
}

/**
 * Talks to one Redfish service: JSON GETs with Basic or session authentication, one automatic
 * re-login when a session expired (401), logout on close, and every response's `Date` header fed to
 * a clock-offset estimate. The password is held here only, and never put in a message.
 */
export class RedfishClient {
  readonly offset: ClockOffsetEstimator
  private readonly dispatcher: Agent
  private token: string | undefined
  private sessionUri: string | undefined
  private sessionsPath = '/redfish/v1/SessionService/Sessions'

  constructor(private readonly opts: RedfishClientOptions) {
    this.dispatcher = createTargetDispatcher(opts.tls, opts.timeoutMs)
    this.offset = opts.offset
  }

  get hasSession(): boolean {
    return this.token !== undefined
  }

  /** Where to log in, from the service root's `Links.Sessions` (the spec's default otherwise). */
  useServiceRoot(root: unknown): void {
    const p = link(asObject(asObject(root)?.Links)?.Sessions)
    if (p !== undefined) this.sessionsPath = p
  }

  /** GET without credentials: the service root is readable anonymously. */
  async getAnonymous(path: string): Promise<RedfishResponse> {
    return this.checked(path, await this.send('GET', path, {}))
  }

  /** Authenticated GET; logs in first if a session is needed, and once more if it expired. */
  async get(path: string): Promise<RedfishResponse> {
    if (this.opts.auth === 'session' && this.token === undefined) await this.login()
    let res = await this.send('GET', path, this.authHeaders())
    if (res.status === 401 && this.opts.auth === 'session') {
      this.token = undefined
      await this.login()
      res = await this.send('GET', path, this.authHeaders())
    }
    return this.checked(path, res)
  }

  async login(): Promise<void> {
    if (this.opts.auth !== 'session') return
    const body = JSON.stringify({ UserName: this.opts.user ?? '', Password: this.opts.password ?? '' })
    const res = await this.send('POST', this.sessionsPath, { 'content-type': 'application/json' }, body)
    if (res.status !== 201 && res.status !== 200) throw this.httpError(this.sessionsPath, res)
    const token = header(res, 'x-auth-token')
    if (token === undefined) throw new RedfishHttpError(res.status, this.sessionsPath, 'the session was created but no X-Auth-Token header came back')
    this.token = token
    const location = header(res, 'location') ?? link(parseJson(res.text))
    this.sessionUri = location !== undefined ? new URL(location, this.opts.baseUrl).pathname : undefined
  }

  /** Deletes the session (BMCs allow only a handful at once) and closes the connections. */
  async close(): Promise<void> {
    if (this.token !== undefined && this.sessionUri !== undefined) {
      try {
        await this.send('DELETE', this.sessionUri, this.authHeaders())
      } catch {
        // Logging out is best effort: the session times out on the BMC anyway.
      }
    }
    this.token = undefined
    this.sessionUri = undefined
    await this.dispatcher.close()
  }

  private authHeaders(): Record<string, string> {
    if (this.opts.auth === 'basic') {
      return { authorization: `Basic ${Buffer.from(`${this.opts.user ?? ''}:${this.opts.password ?? ''}`).toString('base64')}` }
    }
    return this.token !== undefined ? { 'x-auth-token': this.token } : {}
  }

  private async send(method: 'GET' | 'POST' | 'DELETE', path: string, headers: Record<string, string>, body?: string): Promise<TimedResponse> {
    const url = new URL(path, this.opts.baseUrl)
    const res = await timedRequest(this.dispatcher, this.opts.clock, url, {
      method,
      headers: { accept: 'application/json', 'odata-version': '4.0', ...headers },
      ...(body !== undefined ? { body } : {}),
      timeoutMs: this.opts.timeoutMs,
    })
    this.offset.observeHttpDate(header(res, 'date'), res.sendWallMs, res.recvWallMs)
    return res
  }

  private checked(path: string, res: TimedResponse): RedfishResponse {
    if (res.status < 200 || res.status >= 300) throw this.httpError(path, res)
    return { res, body: parseJson(res.text) }
  }

  private httpError(path: string, res: TimedResponse): RedfishHttpError {
    const retry = header(res, 'retry-after')
    const retryS = retry !== undefined && /^\d+$/.test(retry) ? Number(retry) : null
    return new RedfishHttpError(res.status, path, redfishMessage(parseJson(res.text)), retryS !== null ? retryS * 1000 : null)
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** The human part of a Redfish error body (`error.message` or the first `@Message.ExtendedInfo`). */
function redfishMessage(body: unknown): string {
  const err = asObject(asObject(body)?.error)
  const info = err?.['@Message.ExtendedInfo']
  const first = Array.isArray(info) ? asObject(info[0]) : undefined
  const text = first?.Message ?? err?.message
  return typeof text === 'string' ? text.slice(0, 200) : ''
}
