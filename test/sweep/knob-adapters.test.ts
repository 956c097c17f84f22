import assert from 'node:assert/strict'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { JournalledKnob } from '../../src/adapters/knobs/journalled-knob.js'
import { KnobJournal } from '../../src/adapters/knobs/knob-journal.js'
import { CpufreqMaxBackend, RaplPowerLimitBackend } from '../../src/adapters/knobs/sysfs-knobs.js'
import { KnobError } from '../../src/core/errors.js'
import type { SweepResult } from '../../src/core/sweep/sweep-result.js'
import { runCli } from '../../testkit/cli.js'
import { fakeToolsEnv } from '../../testkit/meters/fake-tools.js'
import { simulatedGpu, spawnCli, waitFor } from '../../testkit/sweep.js'

/** A powercap tree as the kernel lays it out: package-0 with its long-term constraint (µW). */
function powercapTree(): { root: string; limitFile: string } {
  const root = mkdtempSync(join(tmpdir(), 'tokenwatt-powercap-knob-'))
  const zone = join(root, 'intel-rapl:0')
  mkdirSync(zone)
  writeFileSync(join(zone, 'name'), 'package-0\n')
  writeFileSync(join(zone, 'energy_uj'), '123456789\n')
  writeFileSync(join(zone, 'max_energy_range_uj'), '262143328850\n')
  writeFileSync(join(zone, 'constraint_0_name'), 'long_term\n')
  writeFileSync(join(zone, 'constraint_0_power_limit_uw'), '65000000\n')
  writeFileSync(join(zone, 'constraint_0_max_power_uw'), '125000000\n')
  return { root, limitFile: join(zone, 'constraint_0_power_limit_uw') }
}

const isRoot = process.getuid?.() === 0
let gpu: Awaited<ReturnType<typeof simulatedGpu>>
before(async () => {
  gpu = await simulatedGpu()
})
after(async () => {
  await gpu.mock.close()
})

test('RAPL knob: the limit is journalled before the first write, clamped to the zone maximum, and put back', () => {
  const { root, limitFile } = powercapTree()
  const journal = new KnobJournal(join(root, 'journal.json'))
  const knob = new JournalledKnob(new RaplPowerLimitBackend({ zone: 'package-0', root }), journal, process.pid, () => '2026-12-06T00:00:00Z')
  assert.equal(knob.info.maxValue, 125)
  const set = knob.setSync(200)
  assert.deepEqual(set, { requested: 200, enforced: 125 })
  assert.equal(readFileSync(limitFile, 'utf8').trim(), '125000000')
  assert.equal(journal.entries()[0]?.original, 65)
  knob.setSync(40)
  assert.equal(journal.entries()[0]?.original, 65, 'the first original is kept')
  knob.restoreSync()
  assert.equal(readFileSync(limitFile, 'utf8').trim(), '65000000')
  assert.deepEqual(journal.entries(), [])
  assert.throws(() => new RaplPowerLimitBackend({ zone: 'package-3', root }), (e: unknown) => e instanceof KnobError && /no RAPL zone package-3/.test(e.message) && /package-0/.test(e.hint ?? ''))
})

function cpufreqTree(): string {
  const cpu = mkdtempSync(join(tmpdir(), 'tokenwatt-cpufreq-'))
  for (const c of ['cpu0', 'cpu1']) {
    mkdirSync(join(cpu, c, 'cpufreq'), { recursive: true })
    writeFileSync(join(cpu, c, 'cpufreq', 'scaling_max_freq'), '3000000\n')
    writeFileSync(join(cpu, c, 'cpufreq', 'cpuinfo_max_freq'), '3500000\n')
    writeFileSync(join(cpu, c, 'cpufreq', 'cpuinfo_min_freq'), '800000\n')
  }
  return cpu
}

test('cpufreq knob: every CPU\'s scaling_max_freq is set together, range from cpuinfo', () => {
  const cpu = cpufreqTree()
  const freq = new CpufreqMaxBackend({ root: cpu })
  assert.deepEqual([freq.info.minValue, freq.info.maxValue], [800000, 3500000])
  freq.preflight()
  assert.equal(freq.read(), 3000000)
  freq.write(1_200_000)
  for (const c of ['cpu0', 'cpu1']) assert.equal(readFileSync(join(cpu, c, 'cpufreq', 'scaling_max_freq'), 'utf8').trim(), '1200000')
  assert.throws(() => new CpufreqMaxBackend({ root: join(cpu, 'none') }), (e: unknown) => e instanceof KnobError && /no cpufreq/.test(e.message))
})

test('RAPL and cpufreq knobs that may not be written fail preflight with a root hint', { skip: isRoot ? 'root may write read-only files' : false }, () => {
  const { root, limitFile } = powercapTree()
  chmodSync(limitFile, 0o444)
  assert.throws(() => new RaplPowerLimitBackend({ zone: 'package-0', root }).preflight(), (e: unknown) => e instanceof KnobError && /not writable/.test(e.message) && /root/.test(e.hint ?? ''))
  const cpu = cpufreqTree()
  chmodSync(join(cpu, 'cpu1', 'cpufreq', 'scaling_max_freq'), 0o444)
  assert.throws(() => new CpufreqMaxBackend({ root: cpu }).preflight(), (e: unknown) => e instanceof KnobError && /cpu1/.test(e.message))
})

test('cpu.power-limit-w sweep restores the RAPL limit after success and after kill -9 (next command)', async () => {
  const { root, limitFile } = powercapTree()
  const env = { TOKENWATT_KNOB_JOURNAL: join(root, 'journal.json') }
  const yaml = join(root, 'sweep.yaml')
  const base = `target: { endpoint: "${gpu.mock.baseUrl}" }\nmeters: [{ kind: mock }]\nload: { type: closed-loop, concurrency: 2 }\nworkload: { output: 8 }\nout: ${join(root, 'out')}\nstore: ${join(root, 'db.sqlite')}\n`
  writeFileSync(yaml, `${base}stop: { durationS: 0.5 }\nsweep:\n  knobs:\n    - { name: cpu.power-limit-w, values: [30, 50], root: "${root}" }\n`)
  const r = await runCli(['sweep', '-c', yaml, '--no-progress'], { cwd: root, env })
  assert.ok(r.code === 0 || r.code === 99, r.stderr + r.stdout)
  assert.match(r.stdout, /restored cpu\.power-limit-w@rapl:package-0 to 65 W/)
  assert.equal(readFileSync(limitFile, 'utf8').trim(), '65000000')

  writeFileSync(yaml, `${base}stop: { durationS: 30 }\nsweep:\n  knobs:\n    - { name: cpu.power-limit-w, values: [30, 50], root: "${root}" }\n`)
  const run = spawnCli(['sweep', '-c', yaml, '--no-progress'], env, root)
  await waitFor(() => readFileSync(limitFile, 'utf8').trim() === '30000000', 60_000, run.output)
  run.child.kill('SIGKILL')
  await run.exit
  assert.equal(readFileSync(limitFile, 'utf8').trim(), '30000000')
  const next = await runCli(['knobs', 'list'], { cwd: root, env })
  assert.match(next.stdout, /cpu\.power-limit-w@rapl:package-0: original 65 W/)
  const any = await runCli(['runs', 'list', '--store', join(root, 'db.sqlite')], { cwd: root, env })
  assert.match(any.stderr, /restored cpu\.power-limit-w@rapl:package-0 to 65 W/)
  assert.equal(readFileSync(limitFile, 'utf8').trim(), '65000000')
})

test('gpu.power-limit-w via nvidia-smi: Ctrl-C restores it, kill -9 is put back by knobs restore', async () => {
  const fakes = fakeToolsEnv()
  const dir = mkdtempSync(join(tmpdir(), 'tokenwatt-smi-knob-'))
  const env = { PATH: fakes.env.PATH ?? '', TOKENWATT_SIM_DEVICE_STATE: gpu.statePath, TOKENWATT_KNOB_JOURNAL: join(dir, 'journal.json') }
  const limit = (): number => (gpu.state().power_limit_mw ?? 0) / 1000
  const yaml = join(dir, 'sweep.yaml')
  const config = (durationS: number, values: string): string => `target: { endpoint: "${gpu.mock.baseUrl}" }\nmeters: [{ kind: mock }]\nload: { type: closed-loop, concurrency: 4 }\nworkload: { output: 16 }\nstop: { durationS: ${durationS} }\nout: ${join(dir, 'out')}\nstore: ${join(dir, 'db.sqlite')}\nsweep:\n  knobs:\n    - { name: gpu.power-limit-w, via: nvidia-smi, devices: [0], values: [${values}] }\n`
  writeFileSync(yaml, config(0.5, '100, 450'))
  const ok = await runCli(['sweep', '-c', yaml, '--no-progress', '--json'], { cwd: dir, env })
  assert.ok(ok.code === 0 || ok.code === 99, ok.stderr)
  const s = JSON.parse(ok.stdout) as SweepResult
  assert.equal(s.points[0]?.hardware['gpu.power-limit-w']?.enforced['gpu.power-limit-w@nvidia-smi:0'], 263, 'clamped to the minimum nvidia-smi reports')
  assert.deepEqual(s.restored, [{ id: 'gpu.power-limit-w@nvidia-smi:0', value: 700, unit: 'W' }])
  assert.equal(limit(), 700)

  writeFileSync(yaml, config(30, '380, 700'))
  const run = spawnCli(['sweep', '-c', yaml, '--no-progress'], env, dir)
  await waitFor(() => limit() === 380, 60_000, run.output)
  run.child.kill('SIGINT')
  assert.equal((await run.exit).code, 130, run.output())
  assert.equal(limit(), 700)

  const run2 = spawnCli(['sweep', '-c', yaml, '--no-progress'], env, dir)
  await waitFor(() => limit() === 380, 60_000, run2.output)
  run2.child.kill('SIGKILL')
  await run2.exit
  const restore = await runCli(['knobs', 'restore'], { cwd: dir, env })
  assert.match(restore.stdout, /restored gpu\.power-limit-w@nvidia-smi:0 to 700 W/)
  assert.equal(limit(), 700)
})

test('gpu.power-limit-w via amd-smi: set -o per point, cap read back from static --limit, restored after kill -9', async () => {
  const fakes = fakeToolsEnv()
  const dir = mkdtempSync(join(tmpdir(), 'tokenwatt-amd-knob-'))
  const env = { PATH: fakes.env.PATH ?? '', TOKENWATT_SIM_DEVICE_STATE: gpu.statePath, TOKENWATT_KNOB_JOURNAL: join(dir, 'journal.json') }
  const limit = (): number => (gpu.state().power_limit_mw ?? 0) / 1000
  const yaml = join(dir, 'sweep.yaml')
  const config = (durationS: number, values: string): string => `target: { endpoint: "${gpu.mock.baseUrl}" }\nmeters: [{ kind: mock }]\nload: { type: closed-loop, concurrency: 4 }\nworkload: { output: 16 }\nstop: { durationS: ${durationS} }\nout: ${join(dir, 'out')}\nstore: ${join(dir, 'db.sqlite')}\nsweep:\n  knobs:\n    - { name: gpu.power-limit-w, via: amd-smi, devices: [0], values: [${values}] }\n`
  writeFileSync(yaml, config(0.5, '420, 800'))
  const ok = await runCli(['sweep', '-c', yaml, '--no-progress', '--json'], { cwd: dir, env })
  assert.ok(ok.code === 0 || ok.code === 99, ok.stderr)
  const s = JSON.parse(ok.stdout) as SweepResult
  assert.equal(s.points[0]?.hardware['gpu.power-limit-w']?.enforced['gpu.power-limit-w@amd-smi:0'], 420)
  assert.equal(s.points[1]?.hardware['gpu.power-limit-w']?.enforced['gpu.power-limit-w@amd-smi:0'], 700, '800 W is clamped to the reported max_power')
  assert.deepEqual(s.restored, [{ id: 'gpu.power-limit-w@amd-smi:0', value: 700, unit: 'W' }])
  writeFileSync(yaml, config(30, '390, 700'))
  const run = spawnCli(['sweep', '-c', yaml, '--no-progress'], env, dir)
  await waitFor(() => limit() === 390, 60_000, run.output)
  run.child.kill('SIGKILL')
  await run.exit
  const restore = await runCli(['knobs', 'restore'], { cwd: dir, env })
  assert.match(restore.stdout, /restored gpu\.power-limit-w@amd-smi:0 to 700 W/)
  assert.equal(limit(), 700)
})
