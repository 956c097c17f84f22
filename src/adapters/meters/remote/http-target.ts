import { readFileSync } from 'node:fs'
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import { Agent, buildConnector, request, type Dispatcher } from 'undici'
import type { Clock } from '../../../core/ports.js'

/**
 * HTTP(S) plumbing shared by the Redfish and Prometheus meters: a per-target undici dispatcher with
 * its own TLS trust (pinned certificate, CA file, or — for this target only — no verification),
 * timed JSON requests, and readable TLS failures. Nothing here touches process-wide TLS settings.
 */

export interface TargetTls {
  /** SHA-256 of the server certificate, 64 upper-case hex digits without colons. */
  readonly fingerprint256?: string | undefined
  readonly caFile?: string | undefined
  readonly servername?: string | undefined
  readonly insecure: boolean
}

/** The server's certificate did not match the pinned fingerprint: the connection was refused. */
export class CertificatePinError extends Error {
  readonly code = 'TW_CERT_PIN_MISMATCH'
  constructor(
    readonly expected: string,
    readonly got: string,
  ) {
    super(`certificate fingerprint ${colons(got)} does not match the pinned ${colons(expected)}`)
    this.name = 'CertificatePinError'
  }
}

/** `AB12...` → `AB:12:...`, the way browsers and openssl print fingerprints. */
export function colons(hex: string): string {
  return hex.replace(/(..)(?!$)/g, '$1:')
}

/**
 * One dispatcher per target. A pinned target skips chain and host-name checks (the pin is stronger
 * than both: only that exact certificate is accepted) and never resumes TLS sessions, so every
 * connection shows its certificate for the check.
 */
export function createTargetDispatcher(tls: TargetTls, connectTimeoutMs: number): Agent {
  const base = { timeout: connectTimeoutMs, ...(tls.servername !== undefined ? { servername: tls.servername } : {}) }
  if (tls.fingerprint256 !== undefined) {
    const expected = tls.fingerprint256
    const connector = buildConnector({ ...base, rejectUnauthorized: false, maxCachedSessions: 0 })
    return new Agent({
      connect: (options, callback) => {
        connector(options, (err, socket) => {
          if (err !== null) return callback(err, null)
          if (options.protocol === 'https:') {
            const got = (socket as TLSSocket).getPeerCertificate().fingerprint256?.replace(/:/g, '').toUpperCase() ?? ''
            if (got !== expected) {
              socket.destroy()
              return callback(new CertificatePinError(expected, got), null)
            }
          }
          callback(null, socket)
        })
      },
    })
  }
  if (tls.insecure) return new Agent({ connect: { ...base, rejectUnauthorized: false } })
  if (tls.caFile !== undefined) return new Agent({ connect: { ...base, ca: readFileSync(tls.caFile, 'utf8') } })
  return new Agent({ connect: base })
}

export interface PeerCertificate {
  readonly fingerprint256: string
  readonly subject: string
  readonly issuer: string
  readonly validTo: string
}

/**
 * Looks at the certificate a server presents, without trusting it or sending anything over the
 * connection: used only to put the fingerprint into an error hint so the user can check and pin it.
 */
export function peekCertificate(url: URL, servername: string | undefined, timeoutMs: number): Promise<PeerCertificate | null> {
  return new Promise((resolve) => {
    const host = url.hostname.replace(/^\[|\]$/g, '')
    const socket = tlsConnect({
      host,
      port: Number(url.port || 443),
      rejectUnauthorized: false,
      ...(servername !== undefined ? { servername } : /^[\d.:]+$/.test(host) ? {} : { servername: host }),
    })
    const done = (v: PeerCertificate | null): void => {
      socket.destroy()
      resolve(v)
    }
    socket.setTimeout(timeoutMs, () => done(null))
    socket.once('error', () => done(null))
    socket.once('secureConnect', () => {
      const c = socket.getPeerCertificate()
      const name = (o: unknown): string =>
        o !== null && typeof o === 'object' ? Object.entries(o).map(([k, v]) => `${k}=${String(v)}`).join(', ') : ''
      done({ fingerprint256: (c.fingerprint256 ?? '').replace(/:/g, ''), subject: name(c.subject), issuer: name(c.issuer), validTo: c.valid_to ?? '' })
    })
  })
}

const TLS_TRUST_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_UNTRUSTED',
])

/** The first `code` along an error's cause chain (undici wraps socket errors). */
export function errorCode(err: unknown): string | undefined {
  let e: unknown = err
  for (let i = 0; i < 5 && e !== null && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return code
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

/** Finds a pin mismatch anywhere along the cause chain. */
export function findPinError(err: unknown): CertificatePinError | undefined {
  let e: unknown = err
  for (let i = 0; i < 5 && e !== null && typeof e === 'object'; i++) {
    if (e instanceof CertificatePinError) return e
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

/** Whether the failure is the server's certificate not being trusted (as opposed to a pin mismatch). */
export function isTlsTrustFailure(err: unknown): boolean {
  const code = errorCode(err)
  return code !== undefined && TLS_TRUST_CODES.has(code)
}

/** A response with the local times it was sent and received (monotonic ns and wall ms). */
export interface TimedResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  readonly text: string
  readonly sentAtNs: number
  readonly recvAtNs: number
  readonly sendWallMs: number
  readonly recvWallMs: number
}

export interface RequestOptions {
  readonly method?: Dispatcher.HttpMethod
  readonly headers?: Record<string, string>
  readonly body?: string
  readonly timeoutMs: number
  readonly signal?: AbortSignal
}

/** One HTTP exchange, timed on both clocks. Throws only on transport failure (connect, TLS, timeout). */
export async function timedRequest(dispatcher: Dispatcher, clock: Clock, url: URL, opts: RequestOptions): Promise<TimedResponse> {
  const sendWallMs = clock.wallMs()
  const sentAtNs = clock.nowNs()
  const res = await request(url, {
    dispatcher,
    method: opts.method ?? 'GET',
    headers: opts.headers ?? {},
    ...(opts.body !== undefined ? { body: opts.body } : {}),
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
  })
  const text = await res.body.text()
  const recvAtNs = clock.nowNs()
  const recvWallMs = clock.wallMs()
  return { status: res.statusCode, headers: res.headers, text, sentAtNs, recvAtNs, sendWallMs, recvWallMs }
}

/** A header's single value. */
export function header(res: TimedResponse, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()]
  return Array.isArray(v) ? v[0] : v
}
