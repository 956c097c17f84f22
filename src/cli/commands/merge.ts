import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { mergeShards } from '../../core/shard/merge-shards.js'
import { newRunId } from '../bench/bench-runner.js'
import type { CliContext } from '../cli-context.js'
import { renderReport } from '../report-render.js'
import { renderSummary } from '../render-summary.js'
import { readShardDir } from '../shard-dir.js'
import { VERSION } from '../version.js'
import { openCliStore } from './runs.js'

export function registerMerge(program: Command, ctx: CliContext): void {
  program
    .command('merge')
    .description('Join the runs of `bench --shard i/n` (one folder per shard) into one run: one window, exact percentiles, energy of all shards')
    .argument('<dirs...>', "each shard's --out folder (or its run folder)")
    .requiredOption('--out <dir>', 'folder for the merged summary.json, merge.json (shard clocks) and report.html')
    .option('--store <file>', 'results store the merged run is added to (default: the user\'s store)')
    .option('--json', 'print the merged summary.json')
    .action(async (dirs: string[], opts: Record<string, unknown>) => {
      const inputs = dirs.map((d) => readShardDir(d, ctx.host.cwd))
      const id = newRunId(Date.now())
      const m = mergeShards(inputs, { id, toolVersion: VERSION })
      const first = inputs[0]
      const { store, path: storePath } = openCliStore(ctx, opts.store)
      try {
        store.createRun({
          id,
          startedAt: m.summary.startedAt,
          epochWallMs: m.epochWallMs,
          toolVersion: VERSION,
          config: m.summary.config,
          target: { endpoint: m.summary.target.endpoint, api: m.summary.target.api, model: m.summary.target.model, server: m.summary.target.server },
          labels: { ...(first?.run.labels ?? {}), kind: 'merged', shards: String(inputs.length) },
          meters: m.meters,
        })
        store.appendRequests(id, m.records)
        store.appendPowerSamples(id, m.samples)
        store.finishRun(id, m.summary.status === 'complete' ? 'complete' : 'interrupted', m.summary)
      } finally {
        store.close()
      }
      const outDir = resolve(ctx.host.cwd, opts.out as string)
      mkdirSync(outDir, { recursive: true })
      const summaryPath = join(outDir, 'summary.json')
      writeFileSync(summaryPath, `${JSON.stringify(m.summary, null, 2)}\n`)
      writeFileSync(join(outDir, 'merge.json'), `${JSON.stringify({ schema: 'tokenwatt.merge/v1', runId: id, clockUncertaintyMs: m.clockUncertaintyMs, shards: m.shards }, null, 2)}\n`)
      const reportPath = join(outDir, 'report.html')
      writeFileSync(reportPath, await renderReport('html', { summary: m.summary, requests: m.records, powerSamples: m.samples }))
      const out = ctx.host.stdout
      if (opts.json === true) return void out.write(`${JSON.stringify(m.summary, null, 2)}\n`)
      out.write(renderSummary(m.summary, out.columns ?? 100))
      for (const s of m.shards) {
        const clock = s.offsetMs === null ? 'no clock offset measured' : `clock ${s.offsetMs >= 0 ? '+' : '−'}${Math.abs(s.offsetMs).toFixed(1)} ms ±${(s.uncertaintyMs ?? 0).toFixed(1)} ms to the server${s.applied ? ' (applied)' : ' (within uncertainty: not applied)'}`
        out.write(`shard ${s.index}/${m.shards.length}: ${s.requests} requests from ${s.host} (run ${s.runId}), starts at +${s.shiftMs.toFixed(1)} ms, ${clock}\n`)
      }
      out.write(`summary: ${summaryPath}\nreport:  ${reportPath}\nstore:   ${storePath} (run ${id})\n`)
    })
}
