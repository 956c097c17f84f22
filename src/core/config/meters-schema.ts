import { z } from 'zod'

/**
 * Meter selection (`meters:` in the config, `--meter KIND[:ARG]` on the command line) and the
 * boundary the headline figures are reported at. Owned by the power work (issue 4).
 */
export const BoundarySchema = z.enum(['device', 'node', 'rack', 'facility'])

export const MeterSpecSchema = z
  .object({
    kind: z.enum(['nvml', 'nvidia-smi', 'amd-smi', 'rapl', 'ipmi', 'redfish', 'snmp', 'prometheus', 'file', 'estimate', 'mock']),
    id: z.string().optional(),
    boundary: BoundarySchema.optional(),
    periodMs: z.number().positive().optional(),
  })
  .loose()
export type MeterSpec = z.output<typeof MeterSpecSchema>
