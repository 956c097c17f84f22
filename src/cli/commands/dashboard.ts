import type { Command } from 'commander'
import { startDashboard } from '../../dashboard/server.js'
import type { CliContext } from '../cli-context.js'
import { nonNegativeInt } from '../parse-args.js'
import { openCliStore } from './runs.js'

/** `tokenwatt dashboard`: the web dashboard over the store, on loopback unless --host says otherwise. */
export function registerDashboard(program: Command, ctx: CliContext): void {
  program
    .command('dashboard')
    .description('Serve the web dashboard over the results store (127.0.0.1 unless --host; other hosts need the printed token)')
    .option('--host <addr>', 'address to bind (default 127.0.0.1); any other prints a token the API requires', '127.0.0.1')
    .option('--port <n>', 'port (0: any free one)', nonNegativeInt, 8787)
    .option('--store <file>', 'results store')
    .action(async (opts: { host: string; port: number; store?: string }) => {
      const { store, path } = openCliStore(ctx, opts.store)
      try {
        const server = await startDashboard({ store, host: opts.host, port: opts.port })
        ctx.host.stderr.write(`dashboard: ${server.url} (store ${path}); Ctrl-C to stop\n`)
        if (server.token) ctx.host.stderr.write(`token: ${server.token} (open ${server.url}#token=${server.token} in a browser; API clients send Authorization: Bearer TOKEN)\n`)
        await new Promise<void>((resolve) => (ctx.host.signal.aborted ? resolve() : ctx.host.signal.addEventListener('abort', () => resolve(), { once: true })))
        await server.close()
      } finally {
        store.close()
      }
    })
}
