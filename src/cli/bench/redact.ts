import type { BenchConfig } from '../../core/config/bench-schema.js'

const SECRET_HEADER = /^(authorization|proxy-authorization|x-api-key|api-key|cookie|x-auth-token)$/i
const SECRET_KEY = /(password|secret|token|api[-_]?key|community|auth)/i

/**
 * The config as it may be stored and printed: header values and option values that look like secrets
 * are replaced. Secrets should only ever be named by environment variable (`*Env` keys), which are kept.
 */
export function redactConfig(config: BenchConfig): unknown {
  const headers = Object.fromEntries(Object.entries(config.target.headers).map(([k, v]) => [k, SECRET_HEADER.test(k) ? '<redacted>' : v]))
  return redactDeep({ ...config, target: { ...config.target, headers } })
}

function redactDeep(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => redactDeep(v))
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v, k)]))
  }
  if (typeof value === 'string' && SECRET_KEY.test(key) && !/Env$/.test(key) && key !== 'tokenizer' && key !== 'tokenSource') return '<redacted>'
  return value
}
