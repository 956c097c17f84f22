/**
 * What sampling costs the process that runs the load: CPU time of this process (all threads, so
 * koffi's worker threads count) while one local meter samples at 10 Hz, minus an idle baseline of the
 * same length, as a share of one core, in steady state (after 2 s of warm-up). The target is < 1 %
 * of a core (issue 4).
 *
 * The hardware is stood in for by the test fakes (NVML stub library, fake nvidia-smi / amd-smi /
 * ipmitool, a powercap tree, a growing CSV log, a mock power endpoint in another process), so the
 * figure is the adapter's own cost: parsing, timers, FFI and child-process handling. The vendor
 * tools' own CPU (a real nvidia-smi loop, the BMC) is outside this process and not counted.
 *
 *   npm run bench:meters [-- --seconds 8 --only nvml,rapl]
 */
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NodeClock } from '../src/adapters/clock/node-clock.js'
import { createMeter } from '../src/adapters/meters/index.js'
import { MeterSpecSchema } from '../src/core/config/meters-schema.js'
import type { PowerMeter } from '../src/core/ports.js'
import { buildNvmlStub, fakeToolsEnv } from '../testkit/meters/fake-tools.js'

const args = process.argv.slice(2)
const arg = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const seconds = Number(arg('seconds') ?? 8)
const only = arg('only')?.split(',')
const clock = new NodeClock()

interface Row {
  meter: string
  rate: string
  samples: number
  /** This process's CPU while the meter ran (ms), baseline included. */
  rawMs: number
  cpuMs: number
  pctOfCore: number
  note: string
}

function cpuMs(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

async function idleCpuMs(ms: number): Promise<number> {
  const c0 = cpuMs()
  await clock.sleepUntil(clock.nowNs() + ms * 1e6)
  return cpuMs() - c0
}

async function measure(name: string, rate: string, meter: PowerMeter, baselineMs: number, note: string): Promise<Row> {
  await meter.preflight()
  let samples = 0
  let counting = false
  await meter.start(() => void (counting && samples++))
  // steady state only: 2 s of warm-up (first calls, JIT, child start-up) are not counted
  await clock.sleepUntil(clock.nowNs() + 2e9)
  counting = true
  const c0 = cpuMs()
  const t0 = clock.nowNs()
  await clock.sleepUntil(t0 + seconds * 1e9)
  const raw = cpuMs() - c0
  const wallMs = (clock.nowNs() - t0) / 1e6
  counting = false
  await meter.stop()
  const used = Math.max(0, raw - baselineMs * (wallMs / (seconds * 1000)))
  return { meter: name, rate, samples, rawMs: raw, cpuMs: used, pctOfCore: (100 * used) / wallMs, note }
}

/** A /tokenwatt/power endpoint in another process, so its serving cost is not counted here. */
async function mockPowerServer(): Promise<{ url: string; stop: () => void }> {
  const code = `const http=require('node:http');let e=0,t=Date.now();http.createServer((q,s)=>{const n=Date.now();e+=300*(n-t)/1000;t=n;s.setHeader('content-type','application/json');s.end(JSON.stringify({timeMs:n,powerW:300,energyJ:e,streams:0}))}).listen(0,'127.0.0.1',function(){console.log(this.address().port)})`
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())))
  return { url: `http://127.0.0.1:${port}`, stop: () => void child.kill() }
}

async function main(): Promise<void> {
  const { env, binDir } = fakeToolsEnv({ FAKE_T0_MS: String(Date.now()), FAKE_TRACE: '0:300,5:600', FAKE_SMI_GPUS: '8', FAKE_AMD_GPUS: '8', FAKE_IPMI_WATTS: '1800' })
  const work = mkdtempSync(join(tmpdir(), 'tokenwatt-meters-bench-'))
  const rows: Row[] = []
  const want = (k: string): boolean => !only || only.includes(k)
  const spec = (o: object) => MeterSpecSchema.parse(o)
  // warm up (module loading, JIT, GC settle), then take the quieter of two idle baselines
  await idleCpuMs(2000)
  const baselineMs = Math.min(await idleCpuMs(seconds * 1000), await idleCpuMs(seconds * 1000))
  process.stdout.write(`idle baseline: ${baselineMs.toFixed(1)} ms CPU over ${seconds} s (${((100 * baselineMs) / (seconds * 1000)).toFixed(3)} % of a core), subtracted below\n`)
  try {
    if (want('nvml')) {
      const stub = buildNvmlStub()
      if ('path' in stub) {
        process.env.STUB_NVML_GPUS = '8'
        process.env.STUB_NVML_TRACE = '0:300,5:650'
        rows.push(await measure('nvml', '10 Hz × 8 GPUs', createMeter(spec({ kind: 'nvml', periodMs: 100 }), { env: { TOKENWATT_NVML_LIBRARY: stub.path }, clock }), baselineMs, 'stub libnvidia-ml; one async field-values call per GPU per tick, all in flight together'))
      } else rows.push({ meter: 'nvml', rate: '-', samples: 0, rawMs: 0, cpuMs: 0, pctOfCore: 0, note: `skipped: ${stub.skip}` })
    }
    if (want('nvidia-smi')) rows.push(await measure('nvidia-smi', '10 Hz × 8 GPUs', createMeter(spec({ kind: 'nvidia-smi', periodMs: 100 }), { env, clock }), baselineMs, 'one -lms 100 child; parsing only (the tool’s own CPU is outside)'))
    if (want('amd-smi')) rows.push(await measure('amd-smi', '1 Hz × 8 GPUs', createMeter(spec({ kind: 'amd-smi', periodMs: 1000 }), { env, clock }), baselineMs, 'one -w 1 child (amd-smi watches in whole seconds)'))
    if (want('rapl')) {
      const root = join(work, 'powercap')
      for (const [dir, name] of [['intel-rapl:0', 'package-0'], ['intel-rapl:0:0', 'dram'], ['intel-rapl:1', 'package-1'], ['intel-rapl:1:0', 'dram']] as const) {
        mkdirSync(join(root, dir), { recursive: true })
        writeFileSync(join(root, dir, 'name'), `${name}\n`)
        writeFileSync(join(root, dir, 'energy_uj'), '123456789\n')
        writeFileSync(join(root, dir, 'max_energy_range_uj'), '262143328850\n')
      }
      rows.push(await measure('rapl', '10 Hz × 4 zones', createMeter(spec({ kind: 'rapl', root, periodMs: 100 }), { env: {}, clock }), baselineMs, 'sysfs reads (a temp tree here)'))
    }
    if (want('ipmi')) {
      rows.push(await measure('ipmi', '10 Hz, shell', createMeter(spec({ kind: 'ipmi', periodMs: 100 }), { env, clock }), baselineMs, 'one `ipmitool shell` session, a command line per poll (faster than any BMC refreshes)'))
      // the same meter against an ipmitool built without readline: it falls back to a process per poll
      const noShell = { ...env, FAKE_IPMI_SHELL: 'none' }
      rows.push(await measure('ipmi', '10 Hz, process per poll', createMeter(spec({ kind: 'ipmi', periodMs: 100 }), { env: noShell, clock }), baselineMs, 'no shell mode: one ipmitool process per poll'))
      rows.push(await measure('ipmi', '1 Hz (default), shell', createMeter(spec({ kind: 'ipmi' }), { env, clock }), baselineMs, 'the default period: BMCs refresh about once a second'))
    }
    if (want('file')) {
      const path = join(work, 'power.csv')
      writeFileSync(path, 'timestamp,power_w\n')
      // the logger is another process, as a real one would be
      const code = `const fs=require('node:fs');setInterval(()=>fs.appendFileSync(${JSON.stringify(path)},(Date.now()/1000).toFixed(3)+','+(400+Math.random()*50).toFixed(1)+'\\n'),100)`
      const writer = spawn(process.execPath, ['-e', code], { stdio: 'ignore' })
      try {
        rows.push(await measure('file', '10 Hz rows, 1 Hz reads', createMeter(spec({ kind: 'file', path }), { env: {}, clock }), baselineMs, 'a CSV log growing at 10 rows/s, written by another process'))
      } finally {
        writer.kill()
      }
    }
    if (want('estimate')) rows.push(await measure('estimate', '10 Hz', createMeter(spec({ kind: 'estimate', idleW: 60, maxW: 250, periodMs: 100 }), { env: {}, clock }), baselineMs, 'os.cpus() per tick'))
    if (want('mock')) {
      const server = await mockPowerServer()
      try {
        rows.push(await measure('mock', '10 Hz', createMeter(spec({ kind: 'mock', url: server.url, periodMs: 100 }), { env: {}, clock }), baselineMs, 'HTTP GET on a keep-alive connection'))
      } finally {
        server.stop()
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true })
    rmSync(binDir, { recursive: true, force: true })
  }
  const w = [12, 24, 9, 9, 9, 12]
  const line = (c: string[]): string => c.map((x, i) => (i < w.length ? x.padEnd(w[i] as number) : x)).join(' ')
  process.stdout.write(`\n${line(['meter', 'rate', 'samples', 'raw ms', 'net ms', 'net % core', 'notes'])}\n`)
  for (const r of rows) process.stdout.write(`${line([r.meter, r.rate, String(r.samples), r.rawMs.toFixed(1), r.cpuMs.toFixed(1), `${r.pctOfCore.toFixed(3)} %`, `${r.pctOfCore < 1 ? 'ok ' : 'OVER'} ${r.note}`])}\n`)
  process.stdout.write(`\n${seconds} s per meter on ${process.version}; CPU = this process (all threads) minus the idle baseline; target < 1 % of one core.\n`)
}

void main()
