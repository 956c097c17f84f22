import type { Command } from 'commander'
import type { CliContext } from '../cli-context.js'
import { registerBench } from './bench.js'
import { registerMeters } from './meters.js'
import { registerMockServer } from './mock-server.js'
import { registerRuns } from './runs.js'
import { registerReport } from './report.js'
import { registerCompare } from './compare.js'
import { registerVerify } from './verify.js'
import { registerPlan } from './plan.js'
import { registerServeLocal } from './serve-local.js'
import { registerEngine } from './engine.js'
import { registerDemo } from './demo.js'
import { registerMonitor } from './monitor.js'
import { registerImport } from './import.js'
import { registerDashboard } from './dashboard.js'
import { registerSweep } from './sweep.js'
import { registerKnobs } from './knobs.js'
import { registerMerge } from './merge.js'
import { registerK8s } from './k8s.js'

/** Every subcommand registers itself here; one line each, in the order `--help` lists them. */
export function registerCommands(program: Command, ctx: CliContext): void {
  registerBench(program, ctx)
  registerSweep(program, ctx)
  registerKnobs(program, ctx)
  registerMerge(program, ctx)
  registerK8s(program, ctx)
  registerRuns(program, ctx)
  registerReport(program, ctx)
  registerCompare(program, ctx)
  registerVerify(program, ctx)
  registerPlan(program, ctx)
  registerMeters(program, ctx)
  registerServeLocal(program, ctx)
  registerMockServer(program, ctx)
  registerEngine(program, ctx)
  registerDemo(program, ctx)
  registerMonitor(program, ctx)
  registerImport(program, ctx)
  registerDashboard(program, ctx)
}
