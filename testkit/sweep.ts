import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, afterEach, before } from 'node:test'
import type { DeviceState } from '../src/core/sweep/device-state-format.js'
import { readDeviceStateFile } from '../src/engines/mock/device-state.js'
import type { SweepResult } from '../src/core/sweep/sweep-result.js'
import { startMockServer, type MockServer } from '../src/engines/mock/index.js'
import { buildNvmlStub } from './meters/fake-tools.js'

const BIN = join(import.meta.dirname, '../src/cli/bin.ts')

/** A temp folder with the mock's simulated GPU (its state file) serving on loopback. */
export async function simulatedGpu(): Promise<{ dir: string; statePath: string; mock: MockServer; state(): DeviceState }> {
  const dir = mkdtempSync(join(tmpdir(), 'tokenwatt-sweep-'))
  const statePath = join(dir, 'device-state')
  const mock = await startMockServer({ port: 0, ttftMs: 20, device: { stateFile: statePath } })
  return { dir, statePath, mock, state: () => readDeviceStateFile(statePath) }
}

const running = new Set<ChildProcess>()
// A CLI a test spawned and that is still running when the test ends (the test failed while waiting on
// it) is killed then, so it cannot go on changing the simulated GPU under the next test.
afterEach(async () => {
  const strays = [...running]
  running.clear()
  await Promise.all(strays.map(async (c) => {
    const gone = new Promise((r) => c.once('exit', r))
    c.kill('SIGKILL')
    await gone
  }))
})

/** The CLI in its own process (so a test can signal or kill it), with output collected; killed when the test ends if still running. */
export function spawnCli(args: readonly string[], env: Record<string, string>, cwd: string): { child: ChildProcess; output: () => string; exit: Promise<{ code: number | null; signal: string | null }> } {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), BIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let gone = false
  running.add(child)
  child.once('exit', () => {
    gone = true
    running.delete(child)
  })
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()))
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  return { child, output: () => (gone ? `(exited) ${out}` : out), exit }
}

/** Polls `check` every 50 ms until it is true (throws after `timeoutMs`, quoting `what`). */
export async function waitFor(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    const why = what()
    if (Date.now() > deadline || why.startsWith('(exited)')) throw new Error(`${why.startsWith('(exited)') ? 'the process exited' : 'timed out'} while waiting: ${why}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

export type SimulatedGpu = Awaited<ReturnType<typeof simulatedGpu>>

/**
 * The production knob and meter adapters against the mock's simulated GPU, for a test file: the NVML
 * stub (libnvidia-ml.so.1 built from testkit/meters/nvml-stub.c) writes the cap into the device state
 * file, the mock's device model obeys it and writes back its power, which the NVML meter reads.
 * Registers the before/after hooks; `skip` is set where no C compiler could build the stub.
 */
export function useSimulatedNvmlGpu(): {
  readonly skip: string | false
  readonly gpu: SimulatedGpu
  readonly env: () => Record<string, string>
  readonly common: () => string[]
  readonly limitW: () => number
} {
  const stub = buildNvmlStub()
  const lib = 'path' in stub ? stub.path : ''
  let gpu: SimulatedGpu | null = null
  before(async () => {
    gpu = await simulatedGpu()
    process.env.TOKENWATT_SIM_DEVICE_STATE = gpu.statePath
    delete process.env.TOKENWATT_SIM_NO_PERMISSION
  })
  after(async () => {
    await gpu?.mock.close()
    delete process.env.TOKENWATT_SIM_DEVICE_STATE
  })
  const sim = {
    skip: 'skip' in stub ? stub.skip : (false as const),
    get gpu(): SimulatedGpu {
      assert.ok(gpu, 'the simulated GPU starts in before()')
      return gpu
    },
    env: (): Record<string, string> => ({ TOKENWATT_NVML_LIBRARY: lib, TOKENWATT_SIM_DEVICE_STATE: sim.gpu.statePath, TOKENWATT_KNOB_JOURNAL: join(sim.gpu.dir, 'journal.json') }),
    common: (): string[] => ['--endpoint', sim.gpu.mock.baseUrl, '--meter', 'nvml', '--concurrency', '8', '--output-tokens', '16', '--slo-tpot-ms', '30', '--out', join(sim.gpu.dir, 'out'), '--store', join(sim.gpu.dir, 'db.sqlite'), '--no-progress'],
    limitW: (): number => (sim.gpu.state().power_limit_mw ?? 0) / 1000,
  }
  return sim
}

/** The sweep.json a `tokenwatt sweep` run names on its `sweep:` line. */
export function sweepOf(stdout: string): SweepResult {
  const path = /sweep: {2}(\S+)/.exec(stdout)?.[1]
  assert.ok(path, stdout)
  return JSON.parse(readFileSync(path, 'utf8')) as SweepResult
}
