import { resolve } from 'node:path'
import { openStore } from '../adapters/store/sqlite-store.js'
import type { BenchConfig } from '../core/config/bench-schema.js'
import type { CliHost } from '../cli/host.js'
import { defaultStorePath } from '../cli/store-path.js'
import { startDashboard } from './server.js'

/** `bench|sweep|monitor --dashboard [[host:]port]`: the dashboard over the run's own store (its own read connection), for the run's duration. */
export async function startBenchDashboard(addr: unknown, config: Pick<BenchConfig, 'store'>, host: CliHost): Promise<{ close(): Promise<void> }> {
  const text = typeof addr === 'string' ? addr : '8787'
  const i = text.lastIndexOf(':')
  const bind = i >= 0 ? text.slice(0, i) : '127.0.0.1'
  const port = Number(i >= 0 ? text.slice(i + 1) : text)
  const store = openStore(config.store ? resolve(host.cwd, config.store) : defaultStorePath(host.env))
  const server = await startDashboard({ store, host: bind, port: Number.isInteger(port) && port >= 0 ? port : 8787 })
  host.stderr.write(`dashboard: ${server.url}\n${server.token ? `token: ${server.token} (open ${server.url}#token=${server.token}; API clients send Authorization: Bearer TOKEN)\n` : ''}`)
  return { close: async () => (await server.close(), store.close()) }
}
