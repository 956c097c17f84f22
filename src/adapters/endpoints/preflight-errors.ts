import { PreflightError } from '../../core/errors.js'
import { errorCode, errorMessage, isTlsError } from './transport-errors.js'

/**
 * Turns "could not reach the server" into one line that names the cause and a hint that says what to
 * do, because a stack trace of `ECONNREFUSED` ten seconds into a run helps nobody.
 */
export function unreachableError(url: string, err: unknown): PreflightError {
  const code = errorCode(err)
  const { hostname, port, protocol } = new URL(url)
  const where = `${hostname}:${port === '' ? (protocol === 'https:' ? '443' : '80') : port}`
  const detail = errorMessage(err)
  if (code === 'ECONNREFUSED') {
    return new PreflightError(`cannot reach ${url}: nothing is listening at ${where} (ECONNREFUSED)`, {
      hint: 'start the server, or check the host and port in --endpoint',
      cause: err,
    })
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL' || code === 'EAI_NONAME') {
    return new PreflightError(`cannot reach ${url}: the host name "${hostname}" does not resolve (${code})`, {
      hint: 'check the host name in --endpoint (DNS lookup failed)',
      cause: err,
    })
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') {
    return new PreflightError(`cannot reach ${url}: connecting to ${where} timed out`, {
      hint: 'check that the host is up and no firewall drops the port, or raise timeouts.connectMs',
      cause: err,
    })
  }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return new PreflightError(`cannot reach ${url}: no route to ${where} (${code})`, { hint: 'check the network path to the server', cause: err })
  }
  if (isTlsError(err)) {
    const plainHttp = /wrong version number|packet length too long/i.test(detail)
    return new PreflightError(`TLS handshake with ${where} failed: ${detail}`, {
      hint: plainHttp
        ? 'the server seems to speak plain HTTP: use an http:// endpoint'
        : 'for a private CA or self-signed certificate set NODE_EXTRA_CA_CERTS=/path/to/ca.pem; if the server speaks plain HTTP use http://',
      cause: err,
    })
  }
  return new PreflightError(`cannot reach ${url}: ${detail}${code !== null ? ` (${code})` : ''}`, {
    hint: 'check --endpoint and that the server is running',
    cause: err,
  })
}

/** 401/403: the key is missing or wrong. Names the variable to set, never the key. */
export function authError(url: string, status: number, body: string, apiKeyEnv: string, keyGiven: boolean): PreflightError {
  return new PreflightError(`${url} refused the request: HTTP ${status}${body === '' ? '' : ` ${body}`}`, {
    hint: keyGiven
      ? `the API key in $${apiKeyEnv} was rejected: check its value (and that it is valid for this server)`
      : `set the API key in the environment variable $${apiKeyEnv} (sent as "Authorization: Bearer …")`,
  })
}
