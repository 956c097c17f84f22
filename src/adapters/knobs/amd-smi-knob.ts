import { execFileSync } from 'node:child_process'
import { KnobError } from '../../core/errors.js'
import type { KnobInfo } from '../../core/ports.js'
import { readAmdLimits } from '../meters/amd-smi/amd-smi-output.js'
import type { KnobBackend } from './knob-backend.js'

export interface AmdSmiKnobOptions {
  readonly device: number
  /** The amd-smi binary (default `amd-smi` on PATH). */
  readonly command?: string
}

const TIMEOUT_MS = 30_000

/**
 * `gpu.power-limit-w` of an AMD GPU through `amd-smi set -g N -o W` (the socket power cap); the cap
 * and its range are read from `amd-smi static -g N --limit --json` (`limit.socket_power`,
 * `min_power`, `max_power`, as amdsmi_get_power_cap_info reports them).
 */
export class AmdSmiPowerCapBackend implements KnobBackend {
  readonly id: string
  readonly info: KnobInfo
  readonly options: Readonly<Record<string, unknown>>
  private readonly command: string

  constructor(
    private readonly opts: AmdSmiKnobOptions,
    private readonly env: Readonly<Record<string, string | undefined>> = process.env,
  ) {
    this.options = { via: 'amd-smi', ...opts }
    this.command = opts.command ?? 'amd-smi'
    this.id = `gpu.power-limit-w@amd-smi:${opts.device}`
    const l = this.limits()
    this.info = {
      name: 'gpu.power-limit-w',
      unit: 'W',
      persistent: true,
      ...(l.minW !== null && l.maxW !== null ? { minValue: l.minW, maxValue: l.maxW } : {}),
      description: `socket power cap of AMD GPU ${opts.device} (amd-smi set -o)`,
    }
  }

  private run(args: readonly string[]): string {
    try {
      return execFileSync(this.command, args, { encoding: 'utf8', timeout: TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'], env: { ...this.env } })
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { stdout?: string; stderr?: string; status?: number }
      if (err.code === 'ENOENT') throw new KnobError(`gpu.power-limit-w: ${this.command} not found`, { hint: 'install ROCm\'s amd-smi (amd-smi-lib), or name the binary with `command:`' })
      const text = `${err.stderr ?? ''}${err.stdout ?? ''}`.trim().split('\n').find((l) => l.trim() !== '') ?? `exit ${err.status}`
      const denied = /permission|root|privilege|sudo/i.test(text)
      throw new KnobError(`gpu.power-limit-w: amd-smi ${args.join(' ')} failed: ${text.trim()}`, denied ? { hint: 'setting the power cap needs root: run tokenwatt with sudo' } : {})
    }
  }

  private limits(): { capW: number | null; minW: number | null; maxW: number | null } {
    const text = this.run(['static', '-g', String(this.opts.device), '--limit', '--json'])
    let doc: unknown
    try {
      doc = JSON.parse(text)
    } catch {
      throw new KnobError(`gpu.power-limit-w: amd-smi static --limit --json printed no JSON: ${text.trim().split('\n')[0] ?? ''}`)
    }
    const l = readAmdLimits(doc).find((x) => x.gpu === this.opts.device)
    if (!l) throw new KnobError(`gpu.power-limit-w: amd-smi lists no GPU ${this.opts.device}`, { hint: '`amd-smi list` shows the GPU indices' })
    return l
  }

  preflight(): void {
    // Writing the cap in force changes nothing and fails when we may not write.
    this.write(this.read())
  }

  read(): number {
    const cap = this.limits().capW
    if (cap === null) throw new KnobError(`gpu.power-limit-w: amd-smi reports no power cap for GPU ${this.opts.device}`, { hint: 'this GPU (or a VM guest) does not offer a settable power cap' })
    return cap
  }

  write(valueW: number): void {
    this.run(['set', '-g', String(this.opts.device), '-o', String(Math.round(valueW))])
  }

  readEnforced(): number {
    return this.read()
  }
}
