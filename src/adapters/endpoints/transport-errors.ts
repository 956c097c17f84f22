import type { RequestError, RequestErrorKind } from '../../core/records.js'

/** Why the client itself cut a request short, if it did. */
export type AbortCause = 'total_timeout' | 'aborted' | null

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'EPROTO',
  'ECONNABORTED',
])

/** The `code` of an error or of what it wraps (undici and Node nest them: cause, AggregateError). */
export function errorCode(err: unknown): string | null {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') return code
    const nested = (e as { errors?: unknown }).errors
    if (Array.isArray(nested) && nested.length > 0) {
      e = nested[0]
      continue
    }
    e = (e as { cause?: unknown }).cause
  }
  return null
}

export function errorMessage(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return errorMessage(err.errors[0])
  if (err instanceof Error) return err.message === '' ? err.name : err.message
  return String(err)
}

export function isTlsError(err: unknown): boolean {
  const code = errorCode(err) ?? ''
  if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.includes('CERT') || code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE') return true
  return /\b(SSL|TLS)\b|certificate|wrong version number/i.test(errorMessage(err))
}

/**
 * Maps a transport failure (anything undici or the socket threw) onto the record's error kinds.
 * `afterHeaders` tells a stream cut mid-response from a failure to get a response at all.
 */
export function classifyTransportError(err: unknown, afterHeaders: boolean, abortCause: AbortCause): RequestError {
  const code = errorCode(err)
  const detail = `${errorMessage(err)}${code !== null ? ` (${code})` : ''}`
  if (abortCause === 'total_timeout') return { kind: 'total_timeout', message: 'request exceeded the total timeout' }
  if (abortCause === 'aborted') return { kind: 'aborted', message: 'request aborted by the run' }
  let kind: RequestErrorKind
  if (code === 'UND_ERR_HEADERS_TIMEOUT') kind = 'headers_timeout'
  else if (code === 'UND_ERR_BODY_TIMEOUT') kind = 'idle_timeout'
  else if (afterHeaders) kind = 'stream_cut'
  else if ((code !== null && CONNECT_CODES.has(code)) || isTlsError(err)) kind = 'connect'
  else if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_CLOSED') kind = 'stream_cut'
  else kind = 'connect'
  const prefix =
    kind === 'headers_timeout'
      ? 'no response headers within the headers timeout'
      : kind === 'idle_timeout'
        ? 'no data within the idle timeout'
        : kind === 'connect'
          ? 'could not connect'
          : afterHeaders
            ? 'stream ended early'
            : 'connection closed before the response headers'
  return { kind, message: `${prefix}: ${detail}` }
}
