import { z } from 'zod'
import { checkKnobName, rangeValues, type KnobAxis } from './knob-spec.js'

/**
 * The `sweep:` section of a sweep config (the rest of the file is an ordinary bench config: target,
 * workload, meters, boundary, cost, SLO). Flags (`--knob`, `--strategy`, …) map onto the same keys.
 */
export const KnobConfigSchema = z
  .strictObject({
    name: z.string().min(1).describe('Knob: concurrency, rate, gpu.power-limit-w, gpu.sm-clock-mhz, gpu.power-profile, cpu.power-limit-w, cpu.max-freq-khz, engine.parallel|threads|batch-size, server.NAME, workload.FIELD.'),
    values: z.array(z.number()).min(1).optional().describe('The values, in order.'),
    range: z.strictObject({ from: z.number().describe('First value.'), to: z.number().describe('Last value (included when a step lands on it).'), step: z.number().positive().describe('Step between values.') }).optional().describe('Inclusive range from..to by step (instead of values).'),
    via: z.enum(['nvml', 'nvidia-smi', 'amd-smi']).optional().describe('GPU knobs: NVML (default; TOKENWATT_NVML_LIBRARY honoured), `nvidia-smi -pl` or `amd-smi set -o` (power limit only; name `devices`).'),
    devices: z.union([z.literal('all'), z.array(z.number().int().nonnegative()).min(1)]).default('all').describe('GPU knobs: the GPU indices to set (default every GPU).'),
    library: z.string().min(1).optional().describe('GPU knobs via NVML: path of libnvidia-ml.'),
    command: z.string().min(1).optional().describe('GPU knobs via nvidia-smi or amd-smi: the binary.'),
    zones: z.array(z.string().min(1)).min(1).optional().describe('cpu.power-limit-w: RAPL zones (default every package-N).'),
    root: z.string().min(1).optional().describe('cpu.* knobs: the sysfs root (powercap or cpu; tests point it at a temp tree).'),
  })
  .superRefine((k, ctx) => {
    try {
      checkKnobName(k.name)
    } catch (e) {
      ctx.addIssue({ code: 'custom', path: ['name'], message: (e as Error).message })
    }
    if ((k.values === undefined) === (k.range === undefined)) ctx.addIssue({ code: 'custom', path: ['values'], message: 'give either values or range' })
  })

export const ServerRestartSchema = z.strictObject({
  command: z.string().min(1).describe('Shell command starting the server; `{NAME}` is replaced by knob server.NAME (e.g. `vllm serve M --max-num-seqs {max_num_seqs}`).'),
  healthUrl: z.url({ protocol: /^https?$/ }).optional().describe('URL that answers 200 once the server is ready (default: the endpoint\'s /v1/models).'),
  startTimeoutS: z.number().positive().default(600).describe('Longest wait for the health URL after a (re)start.'),
  stopTimeoutS: z.number().positive().default(30).describe('Grace after SIGTERM before SIGKILL when the server is stopped.'),
})

export const OBJECTIVES = ['joules-per-good-token', 'usd-per-million-good-tokens', 'good-tokens-per-s-per-mw', 'joules-per-good-task', 'usd-per-good-task'] as const
export type Objective = (typeof OBJECTIVES)[number]

export const SweepSectionSchema = z.strictObject({
  knobs: z.array(KnobConfigSchema).min(1).describe('The knobs and their values; the grid is their product.'),
  strategy: z.enum(['grid', 'adaptive']).default('grid').describe('grid: every point; adaptive: nested golden-section over the axes (first axis outermost).'),
  objective: z.enum(OBJECTIVES).default('joules-per-good-token').describe('What the optimum minimises (J per good output token, $ per million good output tokens; for session workloads J or $ per good task) or maximises (good output tokens/s per provisioned MW).'),
  repeats: z.number().int().positive().max(20).default(1).describe('Runs per point; the point\'s figure is their mean and its interval spans them.'),
  settleS: z.number().nonnegative().default(0).describe('Least seconds to wait after a hardware knob change before the point\'s load starts (the steady window then trims what is still settling).'),
  server: ServerRestartSchema.optional().describe('Restart the server per point with these knob values (knobs named server.NAME).'),
  journal: z.string().min(1).optional().describe('Restore journal (default: env TOKENWATT_KNOB_JOURNAL, else ~/.local/state/tokenwatt/knobs-journal.json).'),
})

export type KnobConfig = z.output<typeof KnobConfigSchema>
export type SweepSection = z.output<typeof SweepSectionSchema>
/** A hardware knob's spec as the knob factory reads it. */
export type HardwareKnobSpec = Pick<KnobConfig, 'name' | 'via' | 'devices' | 'library' | 'command' | 'zones' | 'root'>

export function knobAxis(k: KnobConfig): KnobAxis {
  const values = k.values ?? rangeValues(k.name, k.range?.from ?? 0, k.range?.to ?? 0, k.range?.step ?? 1)
  return { name: k.name, values: [...new Set(values)] }
}
