import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import type { ResultsStore } from '../core/store.js'
import { createDashboardApp } from './app.js'

export interface DashboardServer {
  /** Base URL to open. */
  readonly url: string
  /** The bearer token /api requires; null on loopback. */
  readonly token: string | null
  close(): Promise<void>
}

/** How long `close` lets open connections (a live view's stream ends within a snapshot period) finish before it cuts them. */
const CLOSE_GRACE_MS = 2000

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1'])

/** Serves the dashboard on `host:port` (port 0: any free one). A non-loopback host gets a fresh token. */
export async function startDashboard(o: { store: ResultsStore; host: string; port: number }): Promise<DashboardServer> {
  const token = LOOPBACK.has(o.host) ? null : randomBytes(24).toString('base64url')
  const app = createDashboardApp({ store: o.store, token })
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: o.host, port: o.port }, () => resolve(s))
    s.once('error', reject)
  })
  const addr = server.address() as AddressInfo
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  return {
    url: `http://${host}:${addr.port}/`,
    token,
    // A page left open (a live stream, a keep-alive connection) must not hold up the exit of the run
    // that serves it: once closed, what connections remain after a grace for last snapshots are cut.
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        if ('closeAllConnections' in server) setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS).unref()
      }),
  }
}
