import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import Table from 'cli-table3'
import type { Command } from 'commander'
import { openStore } from '../../adapters/store/sqlite-store.js'
import { ConfigError } from '../../core/errors.js'
import type { ResultsStore } from '../../core/store.js'
import { exportVllmResult } from '../../core/import/export-vllm.js'
import type { CliContext } from '../cli-context.js'
import { renderSummary } from '../render-summary.js'
import { defaultStorePath } from '../store-path.js'

/** Opens the store named by --store (or the default) for a command. */
export function openCliStore(ctx: CliContext, storeOpt: unknown): { store: ResultsStore; path: string } {
  const path = typeof storeOpt === 'string' ? (resolve(ctx.host.cwd, storeOpt)) : defaultStorePath(ctx.host.env)
  return { store: openStore(path), path }
}

export function registerRuns(program: Command, ctx: CliContext): void {
  const runs = program.command('runs').description('List, show and export stored runs')
  runs
    .command('list')
    .description('List stored runs, newest first')
    .option('--store <file>', 'results store')
    .option('--json', 'print JSON')
    .action((opts: { store?: string; json?: boolean }) => {
      const { store } = openCliStore(ctx, opts.store)
      try {
        const rows = store.listRuns()
        if (opts.json) return void ctx.host.stdout.write(`${JSON.stringify(rows, null, 2)}\n`)
        if (rows.length === 0) return void ctx.host.stdout.write('no runs yet: run `tokenwatt bench` first\n')
        const t = new Table({ head: ['id', 'started', 'status', 'model', 'endpoint', 'requests'], style: { head: [], border: [] } })
        for (const r of rows) t.push([r.id, r.startedAt, r.status, r.model, r.endpoint, String(r.requests)])
        ctx.host.stdout.write(`${t.toString()}\n`)
      } finally {
        store.close()
      }
    })
  runs
    .command('show')
    .description('Show a stored run (id, unique id prefix, or "latest")')
    .argument('<run>', 'run id, prefix, or latest')
    .option('--store <file>', 'results store')
    .option('--json', 'print summary.json')
    .action((run: string, opts: { store?: string; json?: boolean }) => {
      const { store } = openCliStore(ctx, opts.store)
      try {
        const summary = store.getSummary(run)
        if (!summary) {
          const id = store.resolveRunId(run)
          const n = store.getRequests(id).length
          ctx.host.stdout.write(`run ${id} has no summary (it did not finish); ${n} request records are stored — export them with \`tokenwatt runs export ${id}\`\n`)
          return
        }
        ctx.host.stdout.write(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : renderSummary(summary, ctx.host.stdout.columns ?? 100))
      } finally {
        store.close()
      }
    })
  runs
    .command('export')
    .description('Export a run: its summary, request records and power samples as JSON (or JSONL records)')
    .argument('<run>', 'run id, prefix, or latest')
    .option('--store <file>', 'results store')
    .option('--format <fmt>', 'json (everything in one document), jsonl (one request record a line) or vllm (vllm bench serve --save-detailed shape)', 'json')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action((run: string, opts: { store?: string; format: string; output?: string }) => {
      if (opts.format !== 'json' && opts.format !== 'jsonl' && opts.format !== 'vllm') throw new ConfigError(`--format: unknown format ${JSON.stringify(opts.format)}`, { hint: 'use json, jsonl or vllm (CSV and Parquet: `tokenwatt report RUN --format csv|parquet`)' })
      const { store } = openCliStore(ctx, opts.store)
      try {
        const id = store.resolveRunId(run)
        const summary = opts.format === 'vllm' ? store.getSummary(id) : null
        if (opts.format === 'vllm' && summary === null) throw new ConfigError(`run ${id} has no summary: it did not finish`, { hint: 'only finished runs export to the vLLM shape' })
        const text =
          summary !== null
            ? `${JSON.stringify(exportVllmResult(summary, store.getRequests(id)), null, 2)}\n`
            : opts.format === 'jsonl'
            ? store.getRequests(id).map((r) => JSON.stringify(r)).join('\n') + '\n'
            : `${JSON.stringify({ manifest: store.getManifest(id), summary: store.getSummary(id), requests: store.getRequests(id), powerSamples: store.getPowerSamples(id) })}\n`
        if (opts.output) writeFileSync(resolve(ctx.host.cwd, opts.output), text)
        else ctx.host.stdout.write(text)
      } finally {
        store.close()
      }
    })
}
