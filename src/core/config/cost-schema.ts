import { z } from 'zod'

/** The `cost:` section. Owned by the economics work (issue 5). */
export const CostSchema = z.object({}).loose()
export type CostConfig = z.output<typeof CostSchema>
