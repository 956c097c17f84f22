import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseDeviceState, type DeviceState } from '../src/core/sweep/device-state-format.js'
import { startMockServer, type MockServer } from '../src/engines/mock/index.js'

const BIN = join(import.meta.dirname, '../src/cli/bin.ts')

/** A temp folder with the mock's simulated GPU (its state file) serving on loopback. */
export async function simulatedGpu(): Promise<{ dir: string; statePath: string; mock: MockServer; state(): DeviceState }> {
  const dir = mkdtempSync(join(tmpdir(), 'tokenwatt-sweep-'))
  const statePath = join(dir, 'device-state')
  const mock = await startMockServer({ port: 0, ttftMs: 20, device: { stateFile: statePath } })
  return { dir, statePath, mock, state: () => (existsSync(statePath) ? parseDeviceState(readFileSync(statePath, 'utf8')) : {}) }
}

/** The CLI in its own process (so a test can signal or kill it), with output collected. */
export function spawnCli(args: readonly string[], env: Record<string, string>, cwd: string): { child: ChildProcess; output: () => string; exit: Promise<{ code: number | null; signal: string | null }> } {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), BIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let gone = false
  child.once('exit', () => (gone = true))
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
