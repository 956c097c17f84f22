/**
 * A fake dcgm-exporter (plus Kepler and Scaphandre families) on 127.0.0.1 serving the real text
 * exposition format, and a real Prometheus server (Debian's `prometheus` binary) started with a
 * temporary config that scrapes it every 200 ms. Values follow a scripted power trace at the moment
 * of each scrape; one GPU's energy counter restarts mid-run, as it does when the driver reloads.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, request as httpRequest, type Server } from 'node:http'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { wallMs, type Trace } from './redfish-fake.js'

export const GPUS = [
  { uuid: 'GPU-4d3c1e2a-7b1f-9c0d-55aa-0123456789ab', index: 0, bus: '00000000:18:00.0', share: 0.6 },
  { uuid: 'GPU-8a91f0c3-2e44-17b5-c9de-abcdef012345', index: 1, bus: '00000000:2A:00.0', share: 0.4 },
] as const

/** The `prometheus` binary on PATH, or null (the tests then skip, saying why). */
export function prometheusBinary(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' })
  const path = r.stdout.trim()
  return r.status === 0 && path !== '' ? path : null
}

export async function freeTcpPort(): Promise<number> {
  const s = createNetServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

export interface Scrape {
  readonly wallMs: number
  /** metric name + GPU index → the raw value served, e.g. `energy:0` → 48123456789. */
  readonly values: ReadonlyMap<string, number>
}

export interface FakeExporter {
  readonly port: number
  readonly scrapes: Scrape[]
  /** Wall time (ms) at which GPU 1's energy counter restarts from 0 (a driver reload). */
  resetGpu1At: number | null
  /** While true, every scrape gets HTTP 503 (the exporter is down; Prometheus marks its series stale). */
  failing: boolean
  close(): Promise<void>
}

/** `hostname`: the node the exporter runs on (its `Hostname` label, Kepler's `node_name`); default gpu-node-01. */
export async function startFakeExporter(trace: Trace, originMs: number, energyOffsetMj: number, hostname = 'gpu-node-01'): Promise<FakeExporter> {
  const LABELS = (g: (typeof GPUS)[number]): string =>
    `gpu="${g.index}",UUID="${g.uuid}",pci_bus_id="${g.bus}",device="nvidia${g.index}",modelName="NVIDIA H100 80GB HBM3",Hostname="${hostname}",DCGM_FI_DRIVER_VERSION="550.90.07"`
  const scrapes: Scrape[] = []
  const state: { resetGpu1At: number | null; failing: boolean } = { resetGpu1At: null, failing: false }
  const server: Server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end()
      return
    }
    if (state.failing) {
      res.writeHead(503).end()
      return
    }
    const t = wallMs()
    const values = new Map<string, number>()
    const lines: string[] = []
    const p = trace.powerW(t)
    lines.push('# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).', '# TYPE DCGM_FI_DEV_POWER_USAGE gauge')
    for (const g of GPUS) {
      const w = p * g.share
      values.set(`power:${g.index}`, Number(w.toFixed(6)))
      lines.push(`DCGM_FI_DEV_POWER_USAGE{${LABELS(g)}} ${w.toFixed(6)}`)
    }
    lines.push('# HELP DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION Total energy consumption since boot (in mJ).', '# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter')
    for (const g of GPUS) {
      const since = g.index === 1 && state.resetGpu1At !== null && t >= state.resetGpu1At ? state.resetGpu1At : originMs
      const base = since === originMs ? energyOffsetMj : 0
      const mj = Math.floor(base + trace.energyJ(since, t) * g.share * 1000)
      values.set(`energy:${g.index}`, mj)
      lines.push(`DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{${LABELS(g)}} ${mj}`)
    }
    lines.push('# HELP DCGM_FI_PROF_PIPE_TENSOR_ACTIVE Ratio of cycles the tensor (HMMA) pipe is active.', '# TYPE DCGM_FI_PROF_PIPE_TENSOR_ACTIVE gauge')
    for (const g of GPUS) lines.push(`DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{${LABELS(g)}} 0.412345`)
    // Kepler ≥ 0.10: node CPU package per socket (two sockets, 100 W + 80 W), joules counter + watts.
    lines.push('# HELP kepler_node_cpu_joules_total Energy consumption of cpu at node level in joules', '# TYPE kepler_node_cpu_joules_total counter')
    for (const [s, w] of [[0, 100], [1, 80]] as const) {
      for (const zone of ['package', 'dram']) {
        const watts = zone === 'package' ? w : w / 5
        lines.push(`kepler_node_cpu_joules_total{node_name="${hostname}",path="/sys/class/powercap/intel-rapl:${s}",zone="${zone}"} ${((t - originMs) / 1000) * watts + 1e6}`)
      }
    }
    lines.push('# HELP kepler_node_cpu_watts Power consumption of cpu at node level in watts', '# TYPE kepler_node_cpu_watts gauge')
    for (const [s, w] of [[0, 100], [1, 80]] as const) lines.push(`kepler_node_cpu_watts{node_name="${hostname}",path="/sys/class/powercap/intel-rapl:${s}",zone="package"} ${w}`)
    // Scaphandre: host power in µW, energy in µJ (scientific notation, as Rust's exporter may print).
    lines.push('# HELP scaph_host_power_microwatts Power measurement on the whole host, in microwatts', '# TYPE scaph_host_power_microwatts gauge')
    lines.push(`scaph_host_power_microwatts 2.5e8`)
    lines.push('# HELP scaph_host_energy_microjoules Energy measurement for the whole host, in microjoules', '# TYPE scaph_host_energy_microjoules counter')
    lines.push(`scaph_host_energy_microjoules ${Math.round(((t - originMs) / 1000) * 250 * 1e6)}`)
    scrapes.push({ wallMs: t, values })
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
    res.end(`${lines.join('\n')}\n`)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    port: (server.address() as AddressInfo).port,
    scrapes,
    get resetGpu1At() {
      return state.resetGpu1At
    },
    set resetGpu1At(v: number | null) {
      state.resetGpu1At = v
    },
    get failing() {
      return state.failing
    },
    set failing(v: boolean) {
      state.failing = v
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

export interface PrometheusServer {
  readonly url: string
  readonly port: number
  /** An instant query against the server's HTTP API (`/api/v1/query`). */
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>
  close(): Promise<void>
}

/**
 * Starts the real `prometheus` binary scraping every `job → host:port` every 200 ms; resolves once
 * every job in `awaitJobs` (default: all) has had a good scrape. A job whose target starts later
 * (an exporter the test runs afterwards) is left out of `awaitJobs`.
 */
export async function startRealPrometheus(binary: string, jobs: Readonly<Record<string, string>>, awaitJobs: readonly string[] = Object.keys(jobs)): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tw-prometheus-'))
  const port = await freeTcpPort()
  const lines = ['global:', '  scrape_interval: 200ms', '  scrape_timeout: 150ms', 'scrape_configs:']
  for (const [job, target] of Object.entries(jobs)) lines.push(`  - job_name: ${job}`, '    static_configs:', `      - targets: ['${target}']`)
  writeFileSync(join(dir, 'prometheus.yml'), `${lines.join('\n')}\n`)
  const child: ChildProcess = spawn(
    binary,
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let stderr = ''
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()))
  const url = `http://127.0.0.1:${port}`
  const query = async (expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`)
    const body = (await res.json()) as { status: string; error?: string; data?: { result?: { metric: Record<string, string>; value: [number, string] }[] } }
    if (body.status !== 'success') throw new Error(`${expr}: ${body.error ?? res.status}`)
    return body.data?.result ?? []
  }
  const close = async (): Promise<void> => {
    if (child.exitCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()))
      child.kill('SIGTERM')
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))])
      if (child.exitCode === null) child.kill('SIGKILL')
    }
    rmSync(dir, { recursive: true, force: true })
  }
  // Every job must have had a good scrape: Prometheus may hand one static job's target to its
  // scrape loop a discovery tick (5 s) after another's, so one job being up says nothing of the rest.
  const deadline = Date.now() + 20_000
  const pending = (up: { metric: Record<string, string>; value: [number, string] }[]): string[] =>
    awaitJobs.filter((job) => !up.some((r) => r.metric.job === job && r.value[1] === '1'))
  let waiting = [...awaitJobs]
  while (Date.now() < deadline && child.exitCode === null) {
    waiting = pending(await query('up').catch(() => []))
    if (waiting.length === 0) return { url, port, query, close }
    await new Promise((r) => setTimeout(r, 100))
  }
  await close()
  throw new Error(`prometheus did not scrape job(s) ${waiting.join(', ')} successfully: ${stderr.slice(-500)}`)
}

/** Starts Prometheus scraping the fake DCGM exporter on `targetPort` (job `dcgm`). */
export function startPrometheus(binary: string, targetPort: number): Promise<PrometheusServer> {
  return startRealPrometheus(binary, { dcgm: `127.0.0.1:${targetPort}` })
}

/** A reverse proxy in front of Prometheus that wants `Authorization: Bearer <token>` (as an auth proxy does). */
export async function startAuthProxy(targetPort: number, token: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' }).end('Unauthorized\n')
      return
    }
    const up = httpRequest({ host: '127.0.0.1', port: targetPort, path: req.url, method: req.method, headers: { ...req.headers, host: `127.0.0.1:${targetPort}` } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers)
      r.pipe(res)
    })
    up.on('error', () => res.writeHead(502).end())
    req.pipe(up)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}
