import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freeTcpPort } from '../meters/prometheus-fake.js'

export interface RealPrometheus {
  readonly url: string
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>
  close(): Promise<void>
}

/** Starts the real `prometheus` binary scraping every `job → host:port` every 200 ms. */
export async function startRealPrometheus(binary: string, jobs: Readonly<Record<string, string>>): Promise<RealPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'tw-prom-mon-'))
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
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline && child.exitCode === null) {
    const up = await query('up').catch(() => [])
    if (up.some((r) => r.value[1] === '1')) return { url, query, close }
    await new Promise((r) => setTimeout(r, 100))
  }
  await close()
  throw new Error(`prometheus did not come up with a successful scrape: ${stderr.slice(-500)}`)
}
