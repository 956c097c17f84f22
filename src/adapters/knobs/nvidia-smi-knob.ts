import { execFileSync } from 'node:child_process'
import { KnobError } from '../../core/errors.js'
import type { KnobInfo } from '../../core/ports.js'
import type { KnobBackend } from './knob-backend.js'

export interface NvidiaSmiKnobOptions {
  readonly device: number
  /** The nvidia-smi binary (default `nvidia-smi` on PATH). */
  readonly command?: string
}

const TIMEOUT_MS = 30_000

/**
 * `gpu.power-limit-w` through `nvidia-smi -i N -pl W` (the fallback where NVML cannot be loaded):
 * the limit and its range are read with `--query-gpu=power.limit,power.min_limit,power.max_limit,
 * enforced.power.limit --format=csv,noheader,nounits`.
 */
export class NvidiaSmiPowerLimitBackend implements KnobBackend {
  readonly id: string
  readonly info: KnobInfo
  private readonly command: string

  readonly options: Readonly<Record<string, unknown>>

  constructor(
    private readonly opts: NvidiaSmiKnobOptions,
    private readonly env: Readonly<Record<string, string | undefined>> = process.env,
  ) {
    this.options = { via: 'nvidia-smi', ...opts }
    this.command = opts.command ?? 'nvidia-smi'
    this.id = `gpu.power-limit-w@nvidia-smi:${opts.device}`
    const [, min, max] = this.query()
    this.info = {
      name: 'gpu.power-limit-w',
      unit: 'W',
      persistent: true,
      ...(min !== null && max !== null ? { minValue: min, maxValue: max } : {}),
      description: `power limit of GPU ${opts.device} (nvidia-smi -pl)`,
    }
  }

  private run(args: readonly string[]): string {
    try {
      return execFileSync(this.command, ['-i', String(this.opts.device), ...args], { encoding: 'utf8', timeout: TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'], env: { ...this.env } })
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { stdout?: string; stderr?: string; status?: number }
      if (err.code === 'ENOENT') throw new KnobError(`gpu.power-limit-w: ${this.command} not found`, { hint: 'install the NVIDIA driver utilities, or use `via: nvml` with TOKENWATT_NVML_LIBRARY' })
      const text = `${err.stdout ?? ''}${err.stderr ?? ''}`.trim().split('\n').find((l) => l.trim() !== '') ?? `exit ${err.status}`
      const denied = /permission|root|privilege/i.test(text)
      throw new KnobError(`gpu.power-limit-w: nvidia-smi ${args.join(' ')} on GPU ${this.opts.device} failed: ${text.trim()}`, denied ? { hint: 'changing the power limit needs root: run tokenwatt with sudo' } : {})
    }
  }

  /** [limit, min, max, enforced] in W; null where the driver prints [N/A]. */
  private query(): (number | null)[] {
    const line = this.run(['--query-gpu=power.limit,power.min_limit,power.max_limit,enforced.power.limit', '--format=csv,noheader,nounits']).trim().split('\n')[0] ?? ''
    const cells = line.split(',').map((c) => Number(c.trim()))
    if (cells.length < 4) throw new KnobError(`gpu.power-limit-w: unexpected nvidia-smi output: ${line}`)
    return cells.map((v) => (Number.isFinite(v) ? v : null))
  }

  preflight(): void {
    const now = this.read()
    this.write(now)
  }

  read(): number {
    const v = this.query()[0]
    if (v === null || v === undefined) throw new KnobError(`gpu.power-limit-w: nvidia-smi reports no power limit for GPU ${this.opts.device}`, { hint: 'this GPU does not offer a settable power limit' })
    return v
  }

  write(valueW: number): void {
    this.run(['-pl', valueW.toFixed(2)])
  }

  readEnforced(): number {
    return this.query()[3] ?? this.read()
  }
}
