import { homedir } from 'node:os'
import { join } from 'node:path'

/**
 * Where the results store lives unless --store says otherwise: $TOKENWATT_STORE, else
 * $XDG_DATA_HOME/tokenwatt/tokenwatt.db, else ~/.local/share/tokenwatt/tokenwatt.db.
 */
export function defaultStorePath(env: Readonly<Record<string, string | undefined>>): string {
  if (env.TOKENWATT_STORE) return env.TOKENWATT_STORE
  const base = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share')
  return join(base, 'tokenwatt', 'tokenwatt.db')
}
