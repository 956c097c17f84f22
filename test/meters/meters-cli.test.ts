import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { Command } from 'commander'
import { meterOptionsToConfig, addMeterOptions } from '../../src/cli/meter-options.js'
import { BenchConfigSchema } from '../../src/core/config/bench-schema.js'
import { startMockServer } from '../../src/engines/mock/index.js'
import { runCli } from '../../testkit/cli.js'
import { buildNvmlStub, fakeToolsEnv } from '../../testkit/meters/fake-tools.js'

test('meters probe: lists what can be read, with one-line causes and hints for the rest; exit 4 when an asked-for meter fails', async () => {
  const { env, binDir } = fakeToolsEnv({ FAKE_IPMI_WATTS: '420' })
  const stub = buildNvmlStub()
  const stubEnv: Record<string, string> = 'path' in stub ? { TOKENWATT_NVML_LIBRARY: stub.path } : {}
  try {
    const ok = await runCli(['meters', 'probe', '--meter', 'nvidia-smi', '--meter', 'ipmi', '--meter', 'amd-smi', ...('path' in stub ? ['--meter', 'nvml'] : []), '--json'], { cwd: binDir, env: { ...(env as Record<string, string>), ...stubEnv } })
    assert.equal(ok.code, 0, ok.stderr)
    const json = JSON.parse(ok.stdout) as { meters: { kind: string; available: boolean; detail: string; channels: string[] }[] }
    assert.ok(json.meters.every((m) => m.available), ok.stdout)
    assert.match(json.meters.find((m) => m.kind === 'ipmi')?.detail ?? '', /420 W/)
    assert.equal(json.meters.find((m) => m.kind === 'nvidia-smi')?.channels.length, 2)

    const bad = await runCli(['meters', 'probe', '--meter', 'file:/nonexistent/power.csv', '--meter', 'ipmi'], { cwd: binDir, env: { ...(env as Record<string, string>), FAKE_IPMI_VARIANT: 'fail' } })
    assert.equal(bad.code, 4)
    assert.match(bad.stdout, /power log \/nonexistent\/power\.csv: no such file/)
    assert.match(bad.stdout, /hint: start the logger/)
    assert.match(bad.stdout, /\/dev\/ipmi0/)

    const all = await runCli(['meters', 'probe'], { cwd: binDir, env: { PATH: '/nonexistent' } })
    assert.equal(all.code, 0)
    for (const kind of ['nvml', 'nvidia-smi', 'amd-smi', 'rapl', 'ipmi', 'redfish', 'snmp', 'prometheus', 'file', 'estimate']) assert.match(all.stdout, new RegExp(`│ ${kind} `))
    assert.match(all.stdout, /nvidia-smi was not found on PATH/)

    const invalid = await runCli(['meters', 'probe', '--meter', 'gpu-magic'], { cwd: binDir })
    assert.equal(invalid.code, 2)
    assert.match(invalid.stderr, /--meter gpu-magic: .*nvml/)
  } finally {
    rmSync(binDir, { recursive: true, force: true })
  }
})

test('meter flags become a config fragment the bench schema accepts', () => {
  const cmd = addMeterOptions(new Command().exitOverride())
  cmd.parse(['--meter', 'nvml:0,1', '--meter', 'file:wall.csv', '--boundary', 'facility', '--idle-s', '5', '--pue', '1.3:1.1-1.5', '--device-watts', '700'], { from: 'user' })
  const fragment = meterOptionsToConfig(cmd.opts())
  assert.deepEqual(fragment, {
    meters: [{ kind: 'nvml', devices: ['0', '1'] }, { kind: 'file', path: 'wall.csv' }],
    boundary: 'facility',
    idleS: 5,
    attribution: { facility: { pue: { value: 1.3, low: 1.1, high: 1.5 } }, provisioned: { perDeviceW: 700 } },
  })
  const config = BenchConfigSchema.parse({ stop: { requests: 1 }, ...fragment })
  assert.equal(config.attribution.facility.pue.low, 1.1)
  assert.equal(config.meters[1]?.kind, 'file')
  assert.deepEqual(meterOptionsToConfig(addMeterOptions(new Command()).parse([], { from: 'user' }).opts()), {})
  assert.throws(() => addMeterOptions(new Command().exitOverride().configureOutput({ writeErr: () => undefined })).parse(['--pue', 'high'], { from: 'user' }), /expected a PUE/)
})

test('bench with a mock-engine meter stores tokens per joule at the chosen boundary with provenance and interval', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenwatt-bench-meter-'))
  const mock = await startMockServer({ port: 0, ttftMs: 10, itlMs: 4, power: { idleW: 100, perStreamW: 50, maxW: 700 } })
  try {
    writeFileSync(join(dir, 'bench.yaml'), 'meters:\n  - kind: mock\n    periodMs: 50\nboundary: node\nattribution:\n  psuEfficiency: 0.95\n')
    const r = await runCli(['bench', '-c', 'bench.yaml', '--endpoint', mock.baseUrl, '--concurrency', '4', '--duration', '3s', '--output-tokens', '48', '--no-progress', '--json', '--store', 's.db'], { cwd: dir })
    assert.equal(r.code, 0, r.stderr)
    const s = JSON.parse(r.stdout) as { power: { boundary: string; energyJ: number; interval: { low: number; high: number }; measured: string[]; modeled: string[]; levels: { boundary: string; energyJ: number }[] }; efficiency: { joulesPerOutputToken: number; outputTokensPerJoule: number; interval: { low: number; high: number } }; tokens: { output: number } }
    assert.equal(s.power.boundary, 'node')
    assert.deepEqual(s.power.measured, ['device: mock:mock-gpu'])
    assert.ok(s.power.modeled.some((m) => /PSU efficiency 0\.95/.test(m)))
    const device = s.power.levels.find((l) => l.boundary === 'device')?.energyJ as number
    assert.ok(Math.abs(s.power.energyJ - (device * 1.45) / 0.95) < 1e-6 * s.power.energyJ)
    assert.ok(Math.abs(s.efficiency.joulesPerOutputToken - s.power.energyJ / s.tokens.output) < 1e-9)
    assert.ok(s.efficiency.interval.low < s.efficiency.joulesPerOutputToken && s.efficiency.joulesPerOutputToken < s.efficiency.interval.high)
  } finally {
    await mock.close()
    rmSync(dir, { recursive: true, force: true })
  }
})
