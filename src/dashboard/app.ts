import { timingSafeEqual } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Hono, type Context } from 'hono'
import { streamSSE } from 'hono/streaming'
import { compareRuns } from '../core/compare/compare-runs.js'
import { ConfigError, NotFoundError } from '../core/errors.js'
import { loadStoredRun } from '../cli/stored-run.js'
import type { MeterInfo } from '../core/ports.js'
import type { ResultsStore, StoredRunRow } from '../core/store.js'
import { liveSnapshot, monitorLiveSnapshot, type LiveSnapshot } from './live-snapshot.js'

/**
 * The dashboard's HTTP API over the results store (hono 4). Read-only. Every response carries a CSP
 * that forbids inline script and remote loads; when a token is set (the server bound beyond
 * loopback), every /api request must present it as `Authorization: Bearer TOKEN`. Without a token
 * the Host header must name loopback, so a DNS-rebound page cannot read the API.
 */
export interface DashboardAppOptions {
  readonly store: ResultsStore
  /** Required on /api when the server is bound beyond loopback; null on loopback. */
  readonly token: string | null
  /** Live view period (ms); 1000 by default (the view updates at 1 Hz or faster). */
  readonly periodMs?: number
}

export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** A stored run as the dashboard lists it: the row plus its kind (bench, sweep, monitor, …). */
export interface DashboardRun extends StoredRunRow {
  readonly kind: string
}

/** Run kind from the run's labels (`kind`, as monitor sessions set it); plain runs are `bench`. */
export function runKind(row: StoredRunRow): string {
  return row.labels.kind ?? 'bench'
}

/** dist/dashboard-ui of the package: two levels up from src/dashboard or dist/dashboard alike. */
export const UI_DIR = fileURLToPath(new URL('../../dist/dashboard-ui/', import.meta.url))

const LOOPBACK_HOST = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/i

function tokenMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

export function createDashboardApp(options: DashboardAppOptions): Hono {
  const app = new Hono()
  app.use('*', async (c, next) => {
    await next()
    c.header('Content-Security-Policy', CONTENT_SECURITY_POLICY)
    c.header('X-Content-Type-Options', 'nosniff')
    c.header('Referrer-Policy', 'no-referrer')
    c.header('Cache-Control', 'no-store')
  })
  app.use('/api/*', async (c, next) => {
    if (options.token === null) {
      if (!LOOPBACK_HOST.test(c.req.header('host') ?? new URL(c.req.url).host)) return c.json({ error: 'this dashboard answers on loopback only' }, 403)
    } else {
      const auth = c.req.header('authorization') ?? ''
      const given = auth.startsWith('Bearer ') ? auth.slice(7) : ''
      if (!tokenMatches(given, options.token)) return c.json({ error: 'token required: Authorization: Bearer TOKEN (printed when the dashboard started)' }, 401)
    }
    await next()
  })
  app.get('/api/runs', (c) => {
    const runs: DashboardRun[] = options.store.listRuns().map((r) => ({ ...r, kind: runKind(r) }))
    const kind = c.req.query('kind')
    return c.json({ runs: kind ? runs.filter((r) => r.kind === kind) : runs })
  })
  app.get('/api/runs/:id', (c) => {
    const id = options.store.resolveRunId(c.req.param('id'))
    return c.json({ manifest: options.store.getManifest(id), summary: options.store.getSummary(id) })
  })
  const snapshot = (idOrPrefix: string): LiveSnapshot => {
    const id = options.store.resolveRunId(idOrPrefix)
    const row = options.store.listRuns().find((r) => r.id === id)
    const meters = options.store.getManifest(id).meters as MeterInfo[]
    if (row && runKind(row) === 'monitor') return monitorLiveSnapshot(id, row.status, options.store.getMonitorTicks(id), options.store.getPowerSamples(id), meters)
    return liveSnapshot(id, row?.status ?? 'unknown', options.store.getRequests(id), options.store.getPowerSamples(id), meters)
  }
  // Two (or more) finished runs side by side at one SLO: the same comparison as `tokenwatt compare --format json`.
  app.get('/api/compare', (c) => {
    const ids = c.req.queries('run') ?? []
    if (ids.length < 2) throw new ConfigError('compare needs two runs: /api/compare?run=A&run=B')
    const runs = ids.map((id) => loadStoredRun(options.store, id))
    return c.json(compareRuns(runs.map((r) => ({ summary: r.summary, requests: r.requests, cost: r.cost })), { slo: {} }))
  })
  app.get('/api/runs/:id/live', (c) => c.json(snapshot(c.req.param('id'))))
  // Server-sent events: one snapshot a second until the run is no longer running (then a last one).
  app.get('/api/runs/:id/stream', (c) => {
    const id = options.store.resolveRunId(c.req.param('id'))
    return streamSSE(c, async (stream) => {
      for (;;) {
        const snap = snapshot(id)
        await stream.writeSSE({ event: 'snapshot', data: JSON.stringify(snap) })
        if (snap.status !== 'running' || stream.aborted) break
        await stream.sleep(options.periodMs ?? 1000)
      }
      await stream.writeSSE({ event: 'end', data: '{}' })
    })
  })
  // The browser UI, bundled at build time (scripts/build-dashboard.mjs) and served from the package.
  const asset = (name: string, type: string) => (c: Context) => {
    const path = join(UI_DIR, name)
    if (!existsSync(path)) return c.text('the dashboard UI is not built: run `npm run build` in the tokenwatt checkout (the API under /api works without it)', 503)
    c.header('Content-Type', type)
    return c.body(readFileSync(path))
  }
  app.get('/', asset('index.html', 'text/html; charset=utf-8'))
  app.get('/index.html', asset('index.html', 'text/html; charset=utf-8'))
  app.get('/assets/app.js', asset('app.js', 'text/javascript; charset=utf-8'))
  app.get('/assets/app.css', asset('app.css', 'text/css; charset=utf-8'))
  app.onError((e, c) => c.json({ error: e.message }, e instanceof NotFoundError ? 404 : e instanceof ConfigError ? 400 : 500))
  return app
}
