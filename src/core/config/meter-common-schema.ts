import { z } from 'zod'

/** The five boundaries, innermost first: device ⊂ node ⊂ rack ⊂ cluster ⊂ facility (DESIGN.md §4). */
export const BoundarySchema = z.enum(['device', 'node', 'rack', 'cluster', 'facility'])

/** Keys every meter kind accepts. Spread into each kind's strictObject. */
export const meterCommon = {
  id: z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : - only').optional().describe('Name of the meter in the run (default: its kind, numbered when a kind repeats).'),
  periodMs: z.number().positive().max(3_600_000).optional().describe('Sampling period (ms). Each kind has its own default (see the adapters\' README).'),
  accuracyRel: z.number().min(0).max(1).optional().describe('Override the meter\'s relative accuracy (0.02 = ±2 % of reading).'),
  accuracyW: z.number().nonnegative().optional().describe('Override the meter\'s absolute accuracy per channel (W).'),
  group: z.string().min(1).optional().describe('Meters at the same boundary and in the same group measure the same equipment (the best one is used, the others cross-check it); meters in different groups add up (e.g. the A and B feeds of a server). Default: one group per boundary; at `device`, channels (GPU UUIDs) decide instead.'),
  node: z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : - only').optional().describe('Which node (server) this meter reads, for coverage checks (`coverage.expectNodes`) and per-node energy; default: the host the run (or shard) ran on, for meters read on the host itself.'),
  rack: z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : - only').optional().describe('Which rack the metered equipment stands in (a label carried into the run).'),
  pool: z.enum(['prefill', 'decode']).optional().describe('Disaggregated serving (NVIDIA Dynamo, llm-d, SGLang PD): this meter reads the prefill or the decode workers. Meters of different pools add up, and the run\'s energy by phase is then measured from them instead of fitted.'),
  component: z.string().min(1).optional().describe('This meter reads only part of its boundary (e.g. `cpu+dram`): it feeds the host-overhead model instead of standing for the whole boundary. RAPL at `node` is a component by default.'),
}

