import { MeterUnavailableError } from '../../../core/errors.js'

/** The environment as the composition root hands it over (never `process.env` read here). */
export type Env = Readonly<Record<string, string | undefined>>

/**
 * Reads a secret from the environment variable the config names. Secrets live only in the
 * environment so that config files and stored runs never hold them; the error names the variable,
 * never a value.
 */
export function requireEnvSecret(env: Env, name: string, what: string, meterLabel: string): string {
  const value = env[name]
  if (value === undefined || value === '') {
    throw new MeterUnavailableError(`${meterLabel}: ${what} is not set (environment variable ${name} is empty)`, {
      hint: `export ${name}=... before running, or name another variable in the meter's config`,
    })
  }
  return value
}

/** Removes every occurrence of the given secrets from a message before it goes anywhere. */
export function redact(message: string, secrets: readonly (string | undefined)[]): string {
  let out = message
  for (const s of secrets) if (s !== undefined && s.length >= 3) out = out.split(s).join('***')
  return out
}
